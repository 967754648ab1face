using Dragon.Runtime.Protocol;

namespace Dragon.Runtime;

/// <summary>Maps an error reply from a service onto the exception a user catches (built by <see cref="DragonErrors"/>).</summary>
internal static class RemoteErrors
{
    public static Exception ToException(ErrorReply error, CancellationToken cancellationToken = default) =>
        DragonErrors.FromReply(error, cancellationToken);
}
