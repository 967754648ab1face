using Microsoft.Extensions.Logging;

namespace Dragon.TestApp;

/// <summary>
/// What the logging scenario's own provider captured, written as JSON for the test to read (this file is compiled
/// into both the scenario program and the test project).
/// </summary>
/// <param name="Events">Every event the library logged, in order.</param>
/// <param name="QueueName">The queue the head program created and attached (homed on the head's node).</param>
/// <param name="EventName">The event homed on node 1 whose wait the head cancelled.</param>
/// <param name="HeadNode">The head program's node.</param>
public sealed record LoggingResult(CapturedLogEvent[] Events, string QueueName, string EventName, int HeadNode);

/// <summary>One log event as an <see cref="ILogger"/> received it: category, level, id, text and structured state.</summary>
public sealed record CapturedLogEvent(string Category, LogLevel Level, int EventId, string? EventName, string Message, Dictionary<string, string?> State);
