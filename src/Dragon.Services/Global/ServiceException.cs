using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>A request that cannot be served; carries the error kind the client turns into its exception.</summary>
internal sealed class ServiceException(ErrorKind kind, string message) : Exception(message)
{
    public ErrorKind Kind { get; } = kind;
}
