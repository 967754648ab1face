using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dragon.Dictionary.Internal;

/// <summary>
/// The dictionary's hash of a key's encoded bytes: the same in every process and every run (a key's manager is chosen
/// by it, and checkpoints written by one run are read by another), so it depends on nothing but the bytes. Eight bytes
/// at a time, each mixed with a multiply and a rotate, then a final avalanche (the finalizer of MurmurHash3).
/// </summary>
internal static class DictHash
{
    private const ulong Prime1 = 0x9E37_79B1_85EB_CA87UL;
    private const ulong Prime2 = 0xC2B2_AE3D_27D4_EB4FUL;

    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static ulong Of(ReadOnlySpan<byte> bytes)
    {
        var hash = Prime2 ^ ((ulong)bytes.Length * Prime1);
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            hash = ulong.RotateLeft(hash ^ (BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]) * Prime1), 31) * Prime2;
        }

        if (i < bytes.Length)
        {
            ulong tail = 0;
            for (var shift = 0; i < bytes.Length; i++, shift += 8)
            {
                tail |= (ulong)bytes[i] << shift;
            }

            hash = ulong.RotateLeft(hash ^ (tail * Prime1), 31) * Prime2;
        }

        hash ^= hash >> 33;
        hash *= 0xFF51_AFD7_ED55_8CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CE_B9FE_1A85_EC53UL;
        hash ^= hash >> 33;
        return hash;
    }

    /// <summary>Which of <paramref name="managers"/> managers holds a key of this hash (its high bits; the slot uses the low).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ManagerOf(ulong hash, int managers) => (int)(((hash >> 32) * (ulong)managers) >> 32);
}
