using System.Buffers.Binary;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>
/// The payloads of tests/ShmRingPeer/MessagePattern.cs, reproduced so the two processes agree
/// on what an intact message looks like.
/// </summary>
internal static class ShmRingTestPattern
{
    /// <summary>Producer and sequence in the first 8 bytes, a derived pattern after.</summary>
    public static byte[] Message(int producer, int seq, int size)
    {
        var message = new byte[Math.Max(size, 8)];
        BinaryPrimitives.WriteInt32LittleEndian(message, producer);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), seq);
        for (var i = 8; i < message.Length; i++)
        {
            message[i] = (byte)((producer * 31) + seq + i);
        }

        return message;
    }

    /// <summary>Reads back (producer, seq), failing on any damaged byte.</summary>
    public static (int Producer, int Seq) Check(ReadOnlySpan<byte> message)
    {
        Assert.True(message.Length >= 8, $"message of {message.Length} bytes is too short");
        var producer = BinaryPrimitives.ReadInt32LittleEndian(message);
        var seq = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        for (var i = 8; i < message.Length; i++)
        {
            if (message[i] != (byte)((producer * 31) + seq + i))
            {
                Assert.Fail($"message ({producer}, {seq}) damaged at byte {i}");
            }
        }

        return (producer, seq);
    }

    /// <summary>A pattern for messages of any length, 0 included.</summary>
    public static byte[] Bytes(int size, int seed)
    {
        var message = new byte[size];
        for (var i = 0; i < size; i++)
        {
            message[i] = (byte)((i * 7) + (i >> 8) + seed);
        }

        return message;
    }

    /// <summary>
    /// Asserts that every consumer saw each producer's messages in order, and that together they
    /// saw every (producer, seq) for seq below <paramref name="perProducer"/> exactly once.
    /// </summary>
    public static void AssertExactlyOnceInOrder(IEnumerable<IReadOnlyList<(int Producer, int Seq)>> consumers, int producers, int perProducer)
    {
        var seen = new bool[producers, perProducer];
        var total = 0;
        foreach (var received in consumers)
        {
            var last = Enumerable.Repeat(-1, producers).ToArray();
            foreach (var (producer, seq) in received)
            {
                Assert.InRange(producer, 0, producers - 1);
                Assert.InRange(seq, 0, perProducer - 1);
                Assert.False(seen[producer, seq], $"({producer}, {seq}) received twice");
                Assert.True(seq > last[producer], $"producer {producer}: {seq} after {last[producer]}");
                seen[producer, seq] = true;
                last[producer] = seq;
                total++;
            }
        }

        Assert.Equal(producers * perProducer, total);
    }
}
