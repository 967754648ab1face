using System.Buffers;
using Dragon.Pool;
using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>The caller writes task values with their static type, the worker reads and writes them by Type: both must agree.</summary>
public sealed class ItemCodecTests
{
    public sealed record Point(int X, string Name);

    [Fact]
    public void WriteTyped_ReadByType_RoundTripsFastPathAndJsonValues()
    {
        var writer = new ArrayBufferWriter<byte>();
        ItemCodec.Write(42, writer);
        ItemCodec.Write(-7L, writer);
        ItemCodec.Write(2.5, writer);
        ItemCodec.Write(true, writer);
        ItemCodec.Write("héllo", writer);
        ItemCodec.Write<string?>(null, writer);
        ItemCodec.Write(new byte[] { 1, 2, 3 }, writer);
        ItemCodec.Write(new Point(3, "p"), writer);
        var data = writer.WrittenSpan;
        var offset = 0;
        Assert.Equal(42, ItemCodec.ReadObject(typeof(int), data, ref offset));
        Assert.Equal(-7L, ItemCodec.ReadObject(typeof(long), data, ref offset));
        Assert.Equal(2.5, ItemCodec.ReadObject(typeof(double), data, ref offset));
        Assert.Equal(true, ItemCodec.ReadObject(typeof(bool), data, ref offset));
        Assert.Equal("héllo", ItemCodec.ReadObject(typeof(string), data, ref offset));
        Assert.Null(ItemCodec.ReadObject(typeof(string), data, ref offset));
        Assert.Equal(new byte[] { 1, 2, 3 }, (byte[])ItemCodec.ReadObject(typeof(byte[]), data, ref offset)!);
        Assert.Equal(new Point(3, "p"), ItemCodec.ReadObject(typeof(Point), data, ref offset));
        Assert.Equal(data.Length, offset);
    }

    [Fact]
    public void WriteByType_ReadTyped_GivesTheSameValues()
    {
        var writer = new ArrayBufferWriter<byte>();
        ItemCodec.WriteObject(42L, typeof(long), writer);
        ItemCodec.WriteObject(new Point(1, "q"), typeof(Point), writer);
        ItemCodec.WriteObject(null, typeof(Point), writer);
        var data = writer.WrittenSpan;
        var offset = 0;
        Assert.Equal(42L, ItemCodec.Read<long>(data, ref offset));
        Assert.Equal(new Point(1, "q"), ItemCodec.Read<Point>(data, ref offset));
        Assert.Null(ItemCodec.Read<Point?>(data, ref offset));
        Assert.Equal(data.Length, offset);
    }

    [Fact]
    public void WhyNotSupported_HandleTypes_NamesTheReason()
    {
        Assert.Null(ItemCodec.WhyNotSupported(typeof(int)));
        Assert.Null(ItemCodec.WhyNotSupported(typeof(Point)));
        Assert.Contains("delegate", ItemCodec.WhyNotSupported(typeof(Func<int>)), StringComparison.Ordinal);
        Assert.Contains("handle", ItemCodec.WhyNotSupported(typeof(Stream)), StringComparison.Ordinal);
    }
}
