using Dragon.Services.Global;
using Dragon.Services.Node;

namespace Dragon.Launcher.Report;

/// <summary>
/// The launcher's output sink when a report is asked for: every forwarded line passes here, from this process's
/// nodes and from other hosts alike, so the stderr lines go to the run's history (which keeps the last ones of
/// each process that may fail) on their way to the terminal. Node services label their lines <c>[puid@node] </c>
/// for this (the run is labelled whenever it reports); the label is dropped again before the terminal unless
/// <c>--label</c> asked for it.
/// </summary>
internal sealed class TailingSink(IOutputSink terminal, bool showLabels) : IOutputSink
{
    /// <summary>Where stderr tails go; set once global services exist, before any process starts.</summary>
    public RunHistory? History { get; set; }

    public void WriteLine(string label, ReadOnlySpan<byte> line, bool isError)
    {
        Keep(label, line, isError);
        terminal.WriteLine(showLabels ? label : string.Empty, line, isError);
    }

    public Task AcceptAsync(string label, byte[] line, bool isError)
    {
        Keep(label, line, isError);
        return terminal.AcceptAsync(showLabels ? label : string.Empty, line, isError);
    }

    private void Keep(string label, ReadOnlySpan<byte> line, bool isError)
    {
        if (isError && History is { } history && Puid(label) is { } puid)
        {
            history.OnStderr(puid, line);
        }
    }

    /// <summary>The puid of a label <c>[puid@node] </c>, or null for anything else.</summary>
    internal static ulong? Puid(string label)
    {
        var at = label.IndexOf('@', StringComparison.Ordinal);
        return label.StartsWith('[') && at > 1 && ulong.TryParse(label.AsSpan(1, at - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var puid)
            ? puid
            : null;
    }
}
