using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Runtime;

/// <summary>One log file per component (logger category) in a directory: <c>global.log</c>, <c>node0.log</c>, ...</summary>
internal sealed class FileLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, FileLogger> _loggers = new();
    private readonly string _directory;
    private readonly LogLevel _minimum;

    public FileLoggerFactory(string directory, LogLevel minimum)
    {
        _directory = directory;
        _minimum = minimum;
        Directory.CreateDirectory(directory);
    }

    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, name => new FileLogger(Path.Combine(_directory, name + ".log"), _minimum));

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("file logging takes no providers");

    public void Dispose()
    {
        foreach (var logger in _loggers.Values)
        {
            logger.Dispose();
        }
    }

    private sealed class FileLogger(string path, LogLevel minimum) : ILogger, IDisposable
    {
        private readonly System.Threading.Lock _lock = new();
        private StreamWriter? _writer;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var line = $"{DateTime.UtcNow:O} {logLevel,-11} {formatter(state, exception)}{(exception is null ? string.Empty : Environment.NewLine + exception)}";
            lock (_lock)
            {
                _writer ??= new StreamWriter(path, append: true) { AutoFlush = true };
                _writer.WriteLine(line);
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _writer?.Dispose();
                _writer = null;
            }
        }
    }
}
