using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Fuzz.Targets;

/// <summary>The control codec on a frame body: what every connection and link decodes after authentication.</summary>
internal sealed class ControlFrameTarget : FuzzTarget
{
    public override string Name => "control-frame";

    public override IReadOnlyList<byte[]> Seeds { get; } =
        SampleMessages.All.Select(m => FrameCodec.Encode(1, m).AsSpan(FrameCodec.HeaderBytes).ToArray()).ToArray();

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException)];

    public override void Run(byte[] input) => FrameCodec.Decode(input);
}

/// <summary>Whole frames (header and body) read from a stream, as a control connection reads them.</summary>
internal sealed class ControlStreamTarget : FuzzTarget
{
    public override string Name => "control-stream";

    public override IReadOnlyList<byte[]> Seeds { get; } =
        SampleMessages.All.Select(m => FrameCodec.Encode(1, m)).Concat([[.. FrameCodec.Encode(2, new Ack()), .. FrameCodec.Encode(3, new QueryRequest(1))]]).ToArray();

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException), typeof(IOException)];

    public override void Run(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        while (FrameCodec.ReadAsync(stream, CancellationToken.None).AsTask().GetAwaiter().GetResult() is not null)
        {
        }
    }
}

/// <summary>
/// The first frame of a control connection, before the peer is trusted: the size limit from the header, then the
/// hello's own parser and the secret check. Also asserts that no mutated input without the secret is accepted.
/// </summary>
internal sealed class HelloTarget : FuzzTarget
{
    private static readonly byte[] s_secret = Encoding.UTF8.GetBytes("0123456789abcdef0123456789abcdef");

    public override string Name => "hello";

    public override IReadOnlyList<byte[]> Seeds { get; } =
    [
        FrameCodec.Encode(0, new HelloRequest("0123456789abcdef0123456789abcdef", 7, 1234)),
        FrameCodec.Encode(0, new HelloRequest("not the secret", 7, 1234)),
        FrameCodec.Encode(0, new HelloRequest(string.Empty, 0, 0)),
        .. SampleMessages.All.Select(m => FrameCodec.Encode(0, m)),
    ];

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException), typeof(IOException)];

    public override void Run(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        if (FrameCodec.ReadRawAsync(stream, HelloCheck.MaxFrameBytes, CancellationToken.None).AsTask().GetAwaiter().GetResult() is not { } frame)
        {
            return;
        }

        if (HelloCheck.Proves(frame.Body, s_secret, out _, out _) && frame.Body.AsSpan().IndexOf(s_secret) < 0)
        {
            throw new InvalidOperationException("a hello without the secret was accepted");
        }
    }
}
