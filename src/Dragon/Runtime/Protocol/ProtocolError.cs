using System.Diagnostics.CodeAnalysis;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Builds the one exception the control codec throws on bad input: an <see cref="InvalidDataException"/> naming the
/// message type and the field. Catch policy: the connection or link the frame came from is closed (its peer is
/// broken or hostile), everyone waiting on it is told, and the service goes on serving the others.
/// </summary>
internal static class ProtocolError
{
    [DoesNotReturn]
    public static void Throw(string message, string field, string reason) => throw Field(message, field, reason);

    public static InvalidDataException Field(string message, string field, string reason) =>
        new($"bad control message {message}: field {field} {reason}");

    [DoesNotReturn]
    public static void ThrowFrame(string reason) => throw new InvalidDataException($"bad control frame: {reason}");
}
