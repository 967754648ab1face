using Dragon.Services.Node;

namespace Dragon.Launcher;

/// <summary>Forwarded output of every process, written whole lines at a time to the launcher's stdout or stderr.</summary>
internal sealed class ConsoleSink : IOutputSink, IDisposable
{
    private readonly System.Threading.Lock _lock = new();
    private readonly Stream _stdout = Console.OpenStandardOutput();
    private readonly Stream _stderr = Console.OpenStandardError();

    public void WriteLine(string label, ReadOnlySpan<byte> line, bool isError)
    {
        var stream = isError ? _stderr : _stdout;
        var prefix = System.Text.Encoding.UTF8.GetBytes(label);
        lock (_lock)
        {
            stream.Write(prefix);
            stream.Write(line);
            stream.WriteByte((byte)'\n');
            stream.Flush();
        }
    }

    public void Dispose()
    {
        _stdout.Dispose();
        _stderr.Dispose();
    }
}
