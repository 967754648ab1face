using System.Buffers.Binary;
using System.Numerics;

namespace Dragon.Services.Transport;

/// <summary>
/// HMAC-SHA256 (RFC 2104 over FIPS 180-4's SHA-256) in managed code, for the links' handshake. On Linux,
/// <c>System.Security.Cryptography</c> loads OpenSSL (libssl and libcrypto: loading, relocating and initialising
/// them) at its first use, which was a tenth of each node service's start-up; a handshake hashes a few hundred bytes,
/// so a plain implementation costs microseconds. The constants are derived at start-up as the standard defines them
/// (the fractional parts of the square and cube roots of the first primes), in integer arithmetic.
/// </summary>
internal static class HmacSha256
{
    public const int HashBytes = 32;
    private const int BlockBytes = 64;

    private static readonly uint[] s_roundConstants = RootFractions(64, cube: true);
    private static readonly uint[] s_initialState = RootFractions(8, cube: false);

    /// <summary>HMAC-SHA256 of <paramref name="data"/> under <paramref name="key"/>.</summary>
    public static byte[] HashData(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data)
    {
        Span<byte> block = stackalloc byte[BlockBytes];
        block.Clear();
        if (key.Length > BlockBytes)
        {
            Hash(key, block[..HashBytes]);
        }
        else
        {
            key.CopyTo(block);
        }

        Span<byte> pad = stackalloc byte[BlockBytes];
        Span<byte> inner = stackalloc byte[HashBytes];
        for (var i = 0; i < BlockBytes; i++)
        {
            pad[i] = (byte)(block[i] ^ 0x36);
        }

        var state = new State();
        state.Append(pad);
        state.Append(data);
        state.Finish(inner);
        for (var i = 0; i < BlockBytes; i++)
        {
            pad[i] = (byte)(block[i] ^ 0x5c);
        }

        var result = new byte[HashBytes];
        state = new State();
        state.Append(pad);
        state.Append(inner);
        state.Finish(result);
        return result;
    }

    /// <summary>SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var state = new State();
        state.Append(data);
        state.Finish(destination);
    }

    /// <summary>The first 32 bits of the fractional parts of the square (or cube) roots of the first primes.</summary>
    private static uint[] RootFractions(int count, bool cube)
    {
        var values = new uint[count];
        var found = 0;
        for (var candidate = 2; found < count; candidate++)
        {
            var prime = true;
            for (var d = 2; d * d <= candidate; d++)
            {
                if (candidate % d == 0)
                {
                    prime = false;
                    break;
                }
            }

            if (!prime)
            {
                continue;
            }

            // floor(root(p * 2^(32 k))) is the root of p with 32 fractional bits; its low 32 bits are the fraction's.
            var scaled = (UInt128)(uint)candidate << (cube ? 96 : 64);
            values[found++] = (uint)IntegerRoot(scaled, cube ? 3 : 2);
        }

        return values;
    }

    /// <summary>The largest x with x^degree &lt;= value (value below 2^106, so x below 2^36 and x^3 fits).</summary>
    private static UInt128 IntegerRoot(UInt128 value, int degree)
    {
        UInt128 low = 0, high = (UInt128)1 << 36;
        while (low < high)
        {
            var middle = (low + high + 1) >> 1;
            var power = degree == 3 ? middle * middle * middle : middle * middle;
            if (power <= value)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>The running hash: eight words, the partial block and the length so far.</summary>
    private struct State
    {
        private InlineWords _h;
        private InlineBlock _block;
        private int _filled;
        private ulong _length;

        public State()
        {
            s_initialState.CopyTo(_h);
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            _length += (ulong)data.Length;
            Span<byte> block = _block;
            while (data.Length > 0)
            {
                var take = Math.Min(BlockBytes - _filled, data.Length);
                data[..take].CopyTo(block[_filled..]);
                _filled += take;
                data = data[take..];
                if (_filled == BlockBytes)
                {
                    Compress(_h, block);
                    _filled = 0;
                }
            }
        }

        public void Finish(Span<byte> destination)
        {
            var bits = _length * 8;
            Span<byte> block = _block;
            block[_filled++] = 0x80;
            if (_filled > BlockBytes - 8)
            {
                block[_filled..].Clear();
                Compress(_h, block);
                _filled = 0;
            }

            block[_filled..(BlockBytes - 8)].Clear();
            BinaryPrimitives.WriteUInt64BigEndian(block[(BlockBytes - 8)..], bits);
            Compress(_h, block);
            for (var i = 0; i < 8; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(destination[(i * 4)..], _h[i]);
            }
        }

        private static void Compress(Span<uint> h, ReadOnlySpan<byte> block)
        {
            Span<uint> w = stackalloc uint[64];
            for (var t = 0; t < 16; t++)
            {
                w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
            }

            for (var t = 16; t < 64; t++)
            {
                var s0 = BitOperations.RotateRight(w[t - 15], 7) ^ BitOperations.RotateRight(w[t - 15], 18) ^ (w[t - 15] >> 3);
                var s1 = BitOperations.RotateRight(w[t - 2], 17) ^ BitOperations.RotateRight(w[t - 2], 19) ^ (w[t - 2] >> 10);
                w[t] = w[t - 16] + s0 + w[t - 7] + s1;
            }

            uint a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
            for (var t = 0; t < 64; t++)
            {
                var sum1 = BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25);
                var choose = (e & f) ^ (~e & g);
                var t1 = k + sum1 + choose + s_roundConstants[t] + w[t];
                var sum0 = BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22);
                var majority = (a & b) ^ (a & c) ^ (b & c);
                var t2 = sum0 + majority;
                k = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
            }

            h[0] += a;
            h[1] += b;
            h[2] += c;
            h[3] += d;
            h[4] += e;
            h[5] += f;
            h[6] += g;
            h[7] += k;
        }
    }

    [System.Runtime.CompilerServices.InlineArray(8)]
    private struct InlineWords
    {
        private uint _first;
    }

    [System.Runtime.CompilerServices.InlineArray(BlockBytes)]
    private struct InlineBlock
    {
        private byte _first;
    }
}
