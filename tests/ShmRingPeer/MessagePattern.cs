using System.Buffers.Binary;

namespace Dragon.ShmRingPeer;

/// <summary>
/// The payloads the peer sends, so a receiver can tell a whole, untorn message from a damaged
/// one. tests/Dragon.Tests/Channels/ShmRingTestPattern.cs generates the same bytes.
/// </summary>
internal static class MessagePattern
{
    /// <summary>Writes producer and sequence in the first 8 bytes, a derived pattern after.</summary>
    public static void Fill(Span<byte> message, int producer, int seq)
    {
        BinaryPrimitives.WriteInt32LittleEndian(message, producer);
        BinaryPrimitives.WriteInt32LittleEndian(message[4..], seq);
        for (var i = 8; i < message.Length; i++)
        {
            message[i] = (byte)((producer * 31) + seq + i);
        }
    }

    /// <summary>Reads back what <see cref="Fill"/> wrote, failing on any wrong byte.</summary>
    public static (int Producer, int Seq) Check(ReadOnlySpan<byte> message)
    {
        var producer = BinaryPrimitives.ReadInt32LittleEndian(message);
        var seq = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        for (var i = 8; i < message.Length; i++)
        {
            if (message[i] != (byte)((producer * 31) + seq + i))
            {
                throw new InvalidDataException($"message ({producer}, {seq}) damaged at byte {i}");
            }
        }

        return (producer, seq);
    }

    /// <summary>A pattern for messages of any length, 0 included.</summary>
    public static void FillBytes(Span<byte> message, int seed)
    {
        for (var i = 0; i < message.Length; i++)
        {
            message[i] = (byte)((i * 7) + (i >> 8) + seed);
        }
    }
}
