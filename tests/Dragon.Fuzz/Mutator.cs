using System.Buffers.Binary;

namespace Dragon.Fuzz;

/// <summary>
/// Turns a seed into a hostile input: 1 to 4 of bit flips, interesting bytes, interesting 32-bit values (length
/// fields: 0x80000000, -1, huge, just past the end), insertions, deletions, duplications, splices with another
/// seed, truncation; now and then plain random bytes.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] s_bytes = [0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF];
    private static readonly int[] s_ints = [0, 1, -1, -2, 2, 8, 12, int.MinValue, int.MaxValue, 0x7FFFFFF0, 0x10000000, 0x0FFFFFFF, 65536, 4096, 4097, 255, 256];

    public static byte[] Mutate(Random random, IReadOnlyList<byte[]> seeds)
    {
        if (random.Next(64) == 0)
        {
            var noise = new byte[random.Next(0, 96)];
            random.NextBytes(noise);
            return noise;
        }

        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        var steps = 1 + random.Next(4);
        for (var i = 0; i < steps; i++)
        {
            Step(random, data, seeds);
        }

        return [.. data];
    }

    private static void Step(Random random, List<byte> data, IReadOnlyList<byte[]> seeds)
    {
        var at = data.Count == 0 ? 0 : random.Next(data.Count);
        switch (random.Next(10))
        {
            case 0 when data.Count > 0:
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[at] = s_bytes[random.Next(s_bytes.Length)];
                break;
            case 2 or 3 when data.Count >= 4:
                // Length and count fields are 32-bit: hit them with values that broke decoders before.
                at = random.Next(data.Count - 3);
                var value = random.Next(3) == 0 ? data.Count - at + random.Next(-2, 3) : s_ints[random.Next(s_ints.Length)];
                Span<byte> bytes = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
                for (var k = 0; k < 4; k++)
                {
                    data[at + k] = bytes[k];
                }

                break;
            case 4:
                var insert = new byte[1 + random.Next(8)];
                random.NextBytes(insert);
                data.InsertRange(at, insert);
                break;
            case 5 when data.Count > 0:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(8)));
                break;
            case 6 when data.Count > 0:
                var length = Math.Min(data.Count - at, 1 + random.Next(16));
                data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                break;
            case 7:
                var other = seeds[random.Next(seeds.Count)];
                var from = other.Length == 0 ? 0 : random.Next(other.Length);
                data.RemoveRange(at, data.Count - at);
                data.AddRange(other.AsSpan(from).ToArray());
                break;
            case 8 when data.Count > 0:
                data.RemoveRange(at, data.Count - at);
                break;
            default:
                if (data.Count > 0)
                {
                    data[at] = (byte)random.Next(256);
                }

                break;
        }
    }
}
