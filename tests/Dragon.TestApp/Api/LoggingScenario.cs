using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Dragon.TestApp;

/// <summary>
/// A user program that hands the library its own logger factory (with an in-memory provider of its own), creates
/// and attaches a queue, and cancels a wait on an event homed on another node; writes what the provider captured
/// as a typed result (JSON) for the test to judge.
/// </summary>
public static class LoggingScenario
{
    public static int Run(string resultPath)
    {
        var provider = new MemoryLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        DragonRuntime.LoggerFactory = factory;
        try
        {
            Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");
            var head = Node.Current.Index;

            using var created = new DragonQueue<int>(name: "logged-queue");
            using var attached = DragonQueue<int>.Attach("logged-queue");

            using var remote = new DragonEvent(name: "logged-event", node: 1);
            using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            Check.Throws<OperationCanceledException>(() => remote.WaitAsync(cancellationToken: cancel.Token).GetAwaiter().GetResult(), "a wait on node 1 cancelled");

            var result = new LoggingResult([.. provider.Events], "logged-queue", "logged-event", head);
            File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
            return 0;
        }
        finally
        {
            DragonRuntime.LoggerFactory = null;
        }
    }

    /// <summary>Keeps every event, with its structured state as strings.</summary>
    private sealed class MemoryLoggerProvider : ILoggerProvider
    {
        private readonly System.Threading.Lock _lock = new();
        private readonly List<CapturedLogEvent> _events = [];

        public IReadOnlyList<CapturedLogEvent> Events
        {
            get
            {
                lock (_lock)
                {
                    return [.. _events];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new MemoryLogger(this, categoryName);

        public void Dispose()
        {
        }

        private void Add(CapturedLogEvent e)
        {
            lock (_lock)
            {
                _events.Add(e);
            }
        }

        private sealed class MemoryLogger(MemoryLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var fields = new Dictionary<string, string?>();
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var (key, value) in pairs)
                    {
                        fields[key] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
                    }
                }

                owner.Add(new CapturedLogEvent(category, logLevel, eventId.Id, eventId.Name, formatter(state, exception), fields));
            }
        }
    }
}
