using Dragon.Runtime.Protocol;

namespace Dragon.Runtime;

/// <summary>Maps an error reply from a service onto the exception a user catches.</summary>
internal static class RemoteErrors
{
    public static Exception ToException(ErrorReply error) => error.Kind switch
    {
        ErrorKind.InvalidArgument => new ArgumentException(error.Message),
        ErrorKind.NotFound => new ProcessNotFoundException(error.Message),
        ErrorKind.StartFailed => new ProcessStartException(error.Message),
        ErrorKind.GroupFailed => new ProcessGroupException(error.Message),
        ErrorKind.Closed => new InvalidOperationException(error.Message),
        ErrorKind.ObjectNotFound => new KeyNotFoundException(error.Message),
        _ => new DragonException(error.Message),
    };
}
