using System.Buffers.Binary;
using System.Text;

namespace Dragon.TestApp;

/// <summary>A record message carrying a string, for the size contract.</summary>
public sealed record Document(int Length, string Text);

/// <summary>Messages whose content can be rebuilt and compared on the receiving side.</summary>
public static class Payloads
{
    /// <summary>0 B, 64 B, 64 KiB and 16 MiB: empty, one slot, many slots, many times the ring.</summary>
    public static readonly int[] Sizes = [0, 64, 64 * 1024, 16 * 1024 * 1024];

    /// <summary>Bytes of <paramref name="length"/> whose every position depends on the length and the index.</summary>
    public static byte[] Bytes(int length)
    {
        var data = new byte[length];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)((i * 131) + (i >> 11) + length);
        }

        return data;
    }

    /// <summary>A document whose text has <paramref name="length"/> characters, non-ASCII ones at the start.</summary>
    public static Document Doc(int length)
    {
        const string head = "é€🐉\"\\\n";
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_";
        var text = new StringBuilder(length);
        text.Append(head, 0, Math.Min(head.Length, length));
        for (var i = text.Length; i < length; i++)
        {
            text.Append(alphabet[((i * 7) + (i >> 10)) % alphabet.Length]);
        }

        return new Document(length, text.ToString());
    }

    /// <summary>A 64-byte message numbered by producer and sequence (the rest is filler that is checked too).</summary>
    public static byte[] Numbered(int producer, int seq)
    {
        var data = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(data, producer);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), seq);
        for (var i = 8; i < data.Length; i++)
        {
            data[i] = (byte)(producer + seq + i);
        }

        return data;
    }

    /// <summary>Reads back a numbered message; false if it is not one, intact.</summary>
    public static bool TryReadNumbered(byte[] data, out int producer, out int seq)
    {
        producer = seq = -1;
        if (data.Length != 64)
        {
            return false;
        }

        producer = BinaryPrimitives.ReadInt32LittleEndian(data);
        seq = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4));
        for (var i = 8; i < data.Length; i++)
        {
            if (data[i] != (byte)(producer + seq + i))
            {
                return false;
            }
        }

        return true;
    }
}
