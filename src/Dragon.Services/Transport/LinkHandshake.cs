using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Dragon.Services.Transport;

/// <summary>
/// Mutual challenge-response on a new link between node services: each side proves it holds the run's secret by
/// an HMAC-SHA256 over both sides' random nonces; the secret itself never crosses the wire.
/// <code>
/// acceptor  -> nonceA (32)
/// connector -> nonceC (32), node index (4), HMAC(secret, "c" | nonceA | nonceC | index)
/// acceptor  -> HMAC(secret, "a" | nonceC | nonceA | index)
/// </code>
/// Every message has a fixed size, so nothing an unauthenticated peer sends is decoded or sized by it; the side
/// that accepts gives it <see cref="Deadline"/> to finish.
/// </summary>
internal static class LinkHandshake
{
    private const int NonceBytes = 32;
    private const int MacBytes = 32;

    /// <summary>How long a new link has to complete the handshake before it is closed.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    /// <summary>Runs the acceptor's side; returns the connector's node index, or throws <see cref="AuthenticationFailedException"/>.</summary>
    public static async Task<int> AcceptAsync(Stream stream, byte[] secret, CancellationToken cancellationToken)
    {
        var nonceA = Runtime.RunContext.RandomBytes(NonceBytes);
        await stream.WriteAsync(nonceA, cancellationToken).ConfigureAwait(false);
        var answer = new byte[NonceBytes + 4 + MacBytes];
        await stream.ReadExactlyAsync(answer, cancellationToken).ConfigureAwait(false);
        var nonceC = answer.AsSpan(0, NonceBytes).ToArray();
        var index = BinaryPrimitives.ReadInt32LittleEndian(answer.AsSpan(NonceBytes));
        var expected = Mac(secret, "c", nonceA, nonceC, index);
        if (!CryptographicOperations.FixedTimeEquals(expected, answer.AsSpan(NonceBytes + 4)))
        {
            throw new AuthenticationFailedException("the peer did not prove the run's secret");
        }

        await stream.WriteAsync(Mac(secret, "a", nonceC, nonceA, index), cancellationToken).ConfigureAwait(false);
        return index;
    }

    /// <summary>Runs the connector's side, proving this node's index; throws if the acceptor cannot prove the secret.</summary>
    public static async Task ConnectAsync(Stream stream, byte[] secret, int myIndex, CancellationToken cancellationToken)
    {
        var nonceA = new byte[NonceBytes];
        await stream.ReadExactlyAsync(nonceA, cancellationToken).ConfigureAwait(false);
        var nonceC = Runtime.RunContext.RandomBytes(NonceBytes);
        var answer = new byte[NonceBytes + 4 + MacBytes];
        nonceC.CopyTo(answer, 0);
        BinaryPrimitives.WriteInt32LittleEndian(answer.AsSpan(NonceBytes), myIndex);
        Mac(secret, "c", nonceA, nonceC, myIndex).CopyTo(answer, NonceBytes + 4);
        await stream.WriteAsync(answer, cancellationToken).ConfigureAwait(false);
        var proof = new byte[MacBytes];
        await stream.ReadExactlyAsync(proof, cancellationToken).ConfigureAwait(false);
        if (!CryptographicOperations.FixedTimeEquals(proof, Mac(secret, "a", nonceC, nonceA, myIndex)))
        {
            throw new AuthenticationFailedException("the node service at the other end did not prove the run's secret");
        }
    }

    private static byte[] Mac(byte[] secret, string role, byte[] first, byte[] second, int index)
    {
        var data = new byte[1 + first.Length + second.Length + 4];
        data[0] = (byte)role[0];
        first.CopyTo(data, 1);
        second.CopyTo(data, 1 + first.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(1 + first.Length + second.Length), index);
        return HmacSha256.HashData(secret, data);
    }

    public static byte[] SecretBytes(string secret) => Encoding.UTF8.GetBytes(secret);
}

/// <summary>A link or connection that could not prove it belongs to the run.</summary>
internal sealed class AuthenticationFailedException(string message) : Exception(message);
