namespace Dragon.TestApp;

// Typed results of the contract command (tests/Dragon.Tests/Contract reads them). This file is compiled into both
// the scenario program and the test project: measured facts only (counts, milliseconds, booleans, the name of the
// exception a call threw, null when it returned); the tests make the judgement.

/// <summary>A case that threw instead of finishing, so the others still ran: which case, and what it threw.</summary>
public sealed record CaseFailure(string Case, string ExceptionType, string Message);

/// <summary>Producers each sent numbered messages; what one receiver saw, per producer.</summary>
/// <remarks>
/// SequenceViolations: Messages of a producer that came after a later one of the same producer.
/// Duplicates: Messages received more than once.
/// Lost: Messages sent but never received.
/// Corrupt: Messages whose bytes were not the ones sent.
/// ExtraAfterLast: Whether anything arrived after the last expected message.
/// ProducerExitCodes: Exit codes of the producer processes (null: not exited in time).
/// </remarks>
public sealed record OrderResult(
    int Producers,
    int PerProducer,
    int Received,
    int SequenceViolations,
    int Duplicates,
    int Lost,
    int Corrupt,
    bool ExtraAfterLast,
    int?[] ProducerExitCodes);

/// <summary>One message of a given size sent by another process: <c>Shape</c> is "bytes" or "record".</summary>
public sealed record SizeResult(string Shape, int Bytes, int ReceivedLength, bool Intact);

/// <summary>A producer sent <c>Sent</c> messages then closed; what receives and sends did afterwards.</summary>
/// <remarks>
/// ReceiveAfterDrain: The exception a receive threw once drained (null: it returned a message).
/// TryReceiveZeroAfterDrain: The exception a zero-timeout try-receive threw once drained.
/// SendAfterClose: The exception a send after the close threw.
/// BlockedReceiveEnd: The exception a receiver blocked before the close ended with.
/// BlockedReceiveEndMs: From the close to that receiver's end.
/// </remarks>
public sealed record CloseResult(
    int Sent,
    int Drained,
    bool DrainedInOrder,
    string? ReceiveAfterDrain,
    string? SecondReceiveAfterDrain,
    string? TryReceiveZeroAfterDrain,
    string? SendAfterClose,
    bool SendRefusalSaysClosed,
    string? BlockedReceiveEnd,
    double BlockedReceiveEndMs);

/// <summary>
/// Waits on an empty (and, for queues, a full) channel of capacity 4. <c>AskedMs</c> is the timeout given to the
/// timed calls; a blocked call was released by another process 500 ms after it started waiting.
/// </summary>
public sealed record TimeoutsResult(
    double AskedMs,
    bool TryReceiveZeroOnEmpty,
    double TryReceiveZeroMs,
    string? TimedReceiveOnEmpty,
    double TimedReceiveMs,
    bool? TrySendZeroOnFull,
    double? TrySendZeroMs,
    string? TimedSendOnFull,
    double? TimedSendMs,
    double BlockedSendMs,
    bool BlockedSendKeptOrder,
    double BlockedReceiveMs,
    int BlockedReceiveValue);

/// <summary>A wait cancelled after it started: how it ended, how fast, and whether the next caller got the thing.</summary>
/// <remarks>
/// Ended: The exception the cancelled wait ended with (null: it completed).
/// CancelMs: From Cancel() to the wait's end.
/// NextCallerGotIt: The item, lock, permit or event went to the next caller, not to the cancelled wait.
/// </remarks>
public sealed record CancelResult(string? Ended, double CancelMs, bool NextCallerGotIt);
