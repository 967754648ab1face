using Dragon.Runtime.Protocol;

namespace Dragon.Services.Node;

/// <summary>
/// On a node away from the launcher: forwarded output travels to the launcher in order, through the link's output
/// window (see <see cref="RemoteGlobalLink.SendOutput"/>); while it is full the child I/O loop reads none of the
/// streams that write here, so their children block in write.
/// </summary>
internal sealed class LinkOutputSink : IOutputSink
{
    public RemoteGlobalLink? Link { get; set; }

    /// <summary>Before the link is up there is no one to hand output to: it is dropped, and never waits.</summary>
    public Task Write(string label, ReadOnlySpan<byte> lines, bool isError) =>
        Link?.SendOutput(new OutputNotice(label, lines.ToArray(), isError)) ?? Task.CompletedTask;

    /// <summary>Output from other nodes goes to the launcher, never through a node service.</summary>
    public Task AcceptAsync(string label, byte[] line, bool isError) =>
        throw new InvalidOperationException("only the launcher accepts output from other nodes");
}
