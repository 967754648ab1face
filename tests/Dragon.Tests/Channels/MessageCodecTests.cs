using System.Buffers;
using System.Text;
using Dragon.Channels;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>The tagged layout of a message (queues, connections, dictionary values): arrays of numbers go raw.</summary>
public sealed class MessageCodecTests
{
    private static byte[] Encoded<T>(T value)
    {
        var writer = new ArrayBufferWriter<byte>();
        MessageCodec.Encode(value, writer);
        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void ArraysOfNumbers_GoAsTheirElementsBytes_AndComeBackEqual_TypedOrNot()
    {
        double[] doubles = [0.0, -0.0, 1.5, double.NaN, double.PositiveInfinity, double.MinValue, double.Epsilon];
        float[] floats = [0f, -2.25f, float.NaN, float.MaxValue];
        int[] ints = [0, -1, int.MinValue, int.MaxValue];
        long[] longs = [0, -1, long.MinValue, long.MaxValue];

        // One tag byte and the elements: a million doubles are 8 MB, not the 19 MB of text they were as JSON.
        Assert.Equal(1 + (doubles.Length * 8), Encoded(doubles).Length);
        Assert.Equal(1 + (floats.Length * 4), Encoded(floats).Length);
        Assert.Equal(1 + (ints.Length * 4), Encoded(ints).Length);
        Assert.Equal(1 + (longs.Length * 8), Encoded(longs).Length);
        Assert.Equal(1 + (8 << 20), Encoded(new double[1 << 20]).Length);

        Assert.Equal(doubles, MessageCodec.Decode<double[]>(Encoded(doubles)));
        Assert.Equal(floats, MessageCodec.Decode<float[]>(Encoded(floats)));
        Assert.Equal(ints, MessageCodec.Decode<int[]>(Encoded(ints)));
        Assert.Equal(longs, MessageCodec.Decode<long[]>(Encoded(longs)));
        Assert.Empty(MessageCodec.Decode<double[]>(Encoded(Array.Empty<double>())));
        Assert.Null(MessageCodec.Decode<double[]?>(Encoded<double[]?>(null)));

        // Written as object (a queue of object), read as object: the same array type back.
        Assert.Equal(doubles, Assert.IsType<double[]>(MessageCodec.Decode<object>(Encoded<object>(doubles))));
        Assert.Equal(longs, Assert.IsType<long[]>(MessageCodec.Decode<object>(Encoded<object>(longs))));
    }

    [Fact]
    public void ArraysOfNumbers_ReadAsAnotherType_OrCut_AreClearErrors_AndTheOldJsonFormStillReads()
    {
        var wrongType = Assert.Throws<InvalidCastException>(() => MessageCodec.Decode<float[]>(Encoded(new double[] { 1, 2 })));
        Assert.Contains("Double[]", wrongType.Message, StringComparison.Ordinal);

        var cut = Encoded(new long[] { 1, 2, 3 })[..^3];
        var error = Assert.Throws<InvalidDataException>(() => MessageCodec.Decode<long[]>(cut));
        Assert.Contains("21 bytes, not a whole number of 8-byte elements", error.Message, StringComparison.Ordinal);

        // A double[] persisted before the array tags: the JSON tag (10) and its text.
        var json = new byte[] { 10 }.Concat(Encoding.UTF8.GetBytes("[1.5,-2,3e3]")).ToArray();
        Assert.Equal([1.5, -2, 3000], MessageCodec.Decode<double[]>(json));
    }
}
