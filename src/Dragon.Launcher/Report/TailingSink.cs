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

    /// <summary>Lines of one read (joined by '\n', no last newline): each stderr line is kept, all go on.</summary>
    public Task Write(string label, ReadOnlySpan<byte> lines, bool isError)
    {
        if (isError && History is not null)
        {
            var rest = lines;
            int newline;
            while ((newline = rest.IndexOf((byte)'\n')) >= 0)
            {
                Keep(label, rest[..newline], isError);
                rest = rest[(newline + 1)..];
            }

            Keep(label, rest, isError);
        }

        return terminal.Write(showLabels ? label : string.Empty, lines, isError);
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
