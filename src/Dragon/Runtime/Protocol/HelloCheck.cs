using System.Security.Cryptography;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// The first frame on a control connection, before the peer is trusted: a <see cref="HelloRequest"/> body has a
/// fixed layout (tag 2, secret, puid, pid) read here by itself, and the secret's bytes are compared (in constant
/// time) before anything else is looked at. Nothing from an unauthenticated peer reaches the general decoder.
/// </summary>
internal static class HelloCheck
{
    /// <summary>Largest first frame accepted on a control connection; checked from its header, before allocating.</summary>
    public const int MaxFrameBytes = 4096;

    /// <summary>How long a new connection has to prove the secret before it is closed.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    /// <summary>True when <paramref name="body"/> is a hello proving <paramref name="secret"/>; false otherwise.</summary>
    /// <exception cref="InvalidDataException">The body is not a well-formed hello.</exception>
    public static bool Proves(ReadOnlySpan<byte> body, ReadOnlySpan<byte> secret, out ulong puid, out int pid)
    {
        puid = 0;
        pid = 0;
        var r = new WireReader(body, "HelloRequest");
        if (r.Byte("tag") != 2)
        {
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(r.RawBytes("Secret"), secret))
        {
            return false;
        }

        puid = r.UInt64("Puid");
        pid = r.Int32("Pid");
        r.End();
        return true;
    }
}
