using Dragon.Runtime.Protocol;

namespace Dragon.Services.Global;

/// <summary>
/// A request that cannot be served; carries the error kind the client turns into its exception and the context
/// (puid, node, rank, exit code, signal, object name) that fills the exception's properties.
/// </summary>
internal sealed class ServiceException(ErrorKind kind, string message, ErrorContext? context = null) : Exception(message)
{
    public ErrorKind Kind { get; } = kind;

    public ErrorContext? Context { get; } = context;

    /// <summary>The reply that carries this failure to the requester.</summary>
    public ErrorReply ToReply() => new(Kind, Message, Context);
}
