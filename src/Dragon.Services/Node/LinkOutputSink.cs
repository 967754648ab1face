using Dragon.Runtime.Protocol;

namespace Dragon.Services.Node;

/// <summary>
/// On a node away from the launcher: forwarded output travels to the launcher in order, through the link's output
/// window (see <see cref="RemoteGlobalLink.SendOutput"/>), which blocks the pump, and so the child, while full.
/// </summary>
internal sealed class LinkOutputSink : IOutputSink
{
    public RemoteGlobalLink? Link { get; set; }

    public void WriteLine(string label, ReadOnlySpan<byte> line, bool isError) =>
        Link?.SendOutput(new OutputNotice(label, line.ToArray(), isError));

    /// <summary>Output from other nodes goes to the launcher, never through a node service.</summary>
    public Task AcceptAsync(string label, byte[] line, bool isError) =>
        throw new InvalidOperationException("only the launcher accepts output from other nodes");
}
