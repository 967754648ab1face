using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dragon;

/// <summary>Settings of the Dragon library for this process.</summary>
public static class DragonRuntime
{
    private static volatile RuntimeLoggers s_loggers = new(NullLoggerFactory.Instance);

    /// <summary>
    /// Where the library's log events go (default <see cref="NullLoggerFactory"/>: nowhere; null resets it). A static
    /// rather than a constructor argument because runtime objects also come to life outside the user's code (attached
    /// from descriptors in a child process); set it first thing in <c>Main</c>, and in a C# method target.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.AllowNull]
    public static ILoggerFactory LoggerFactory
    {
        get => s_loggers.Factory;
        set => s_loggers = new RuntimeLoggers(value ?? NullLoggerFactory.Instance);
    }

    /// <summary>Category <c>Dragon.Runtime</c>: the connection to the node service, requests, lost nodes.</summary>
    internal static ILogger RuntimeLogger => s_loggers.Runtime;

    /// <summary>Category <c>Dragon.Objects</c>: queues, events, barriers, locks and semaphores made or attached.</summary>
    internal static ILogger ObjectsLogger => s_loggers.Objects;

    /// <summary>The loggers of one factory, swapped whole so a reader never sees two factories mixed.</summary>
    private sealed class RuntimeLoggers(ILoggerFactory factory)
    {
        public ILoggerFactory Factory { get; } = factory;

        public ILogger Runtime { get; } = factory.CreateLogger("Dragon.Runtime");

        public ILogger Objects { get; } = factory.CreateLogger("Dragon.Objects");
    }
}
