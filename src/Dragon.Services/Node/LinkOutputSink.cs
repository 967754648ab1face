using Dragon.Runtime.Protocol;

namespace Dragon.Services.Node;

/// <summary>On a node away from the launcher: forwarded output travels to the launcher as notices, in order.</summary>
internal sealed class LinkOutputSink : IOutputSink
{
    public IGlobalLink? Link { get; set; }

    public void WriteLine(string label, ReadOnlySpan<byte> line, bool isError) =>
        Link?.Notify(new OutputNotice(label, line.ToArray(), isError));
}
