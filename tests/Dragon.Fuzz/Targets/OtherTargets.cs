using System.Text;
using Dragon.Channels;
using Dragon.Channels.Internal;
using Dragon.Services.Pmi;

namespace Dragon.Fuzz.Targets;

/// <summary>A PMI-1 request line as an MPI rank sends it (the line without its newline): never throws.</summary>
internal sealed class PmiLineTarget : FuzzTarget
{
    public override string Name => "pmi-line";

    public override IReadOnlyList<byte[]> Seeds { get; } = new[]
    {
        "cmd=init pmi_version=1 pmi_subversion=1", "cmd=initack pmiid=3", "cmd=get_maxes", "cmd=get_appnum", "cmd=get_my_kvsname",
        "cmd=barrier_in", "cmd=put kvsname=kvs_1 key=P0-businesscard value=description#host$port#42$", "cmd=get kvsname=kvs_1 key=PMI_process_mapping",
        "cmd=get_universe_size", "cmd=finalize", "cmd=abort exitcode=3", "mcmd=spawn", "endcmd", "cmd=publish_name service=a port=b",
    }.Select(Encoding.ASCII.GetBytes).ToArray();

    public override IReadOnlyList<Type> Documented { get; } = [];

    public override void Run(byte[] input)
    {
        if (PmiRequest.TryParse(input, out var request, out _))
        {
            _ = request.TryGet("kvsname"u8, out _);
            _ = request.TryGetInt32("pmiid"u8, out _);
            _ = request.TryGetInt32("exitcode"u8, out _);
        }
    }
}

/// <summary>A message as a channel receives it from shared memory (or from another node), decoded as several types.</summary>
internal sealed class ChannelMessageTarget : FuzzTarget
{
    public override string Name => "channel-message";

    public override IReadOnlyList<byte[]> Seeds { get; } = BuildSeeds();

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException), typeof(InvalidCastException)];

    public override void Run(byte[] input)
    {
        switch (input.Length % 5)
        {
            case 0:
                _ = MessageCodec.Decode<object>(input);
                break;
            case 1:
                _ = MessageCodec.Decode<string>(input);
                break;
            case 2:
                _ = MessageCodec.Decode<int>(input);
                break;
            case 3:
                _ = MessageCodec.Decode<byte[]>(input);
                _ = MessageCodec.Decode<double[]>(input);
                break;
            default:
                _ = MessageCodec.Decode<Sample>(input);
                break;
        }
    }

    internal sealed record Sample(string Name, int[] Values, double Weight);

    private static byte[][] BuildSeeds()
    {
        object?[] values = [null, new byte[] { 1, 2, 3 }, "text", 42, 42L, 4.2, true, new Sample("a", [1, 2], 0.5), new double[] { 1.5, -2 }, new float[] { 3f }, new int[] { 4, 5 }, new long[] { 6 }];
        return values.Select(v =>
        {
            var writer = new System.Buffers.ArrayBufferWriter<byte>();
            MessageCodec.Encode(v, writer);
            return writer.WrittenSpan.ToArray();
        }).ToArray();
    }
}

/// <summary>A shared-memory ring file that another process may have scribbled on, attached with <see cref="ShmRing.Open"/>.</summary>
internal sealed class ShmRingHeaderTarget : FuzzTarget, IDisposable
{
    private readonly string _path = $"/dev/shm/dragon-fuzz-{Environment.ProcessId}-ring";

    public ShmRingHeaderTarget()
    {
        var seed = _path + "-seed";
        using (ShmRing.Create(seed, 4, 64))
        {
        }

        Seeds = [File.ReadAllBytes(seed)];
        File.Delete(seed);
    }

    public override string Name => "shm-ring-header";

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override IReadOnlyList<Type> Documented { get; } = [typeof(InvalidDataException)];

    public override void Run(byte[] input)
    {
        File.WriteAllBytes(_path, input);
        using var ring = ShmRing.Open(_path);
    }

    public void Dispose() => File.Delete(_path);
}
