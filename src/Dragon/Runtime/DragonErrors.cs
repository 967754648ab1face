using Dragon.Runtime.Protocol;

namespace Dragon.Runtime;

/// <summary>
/// Builds every exception of the <see cref="DragonException"/> family the client throws, with the context the runtime
/// knew (puid, node, rank, exit code, signal, object name). Messages name the thing and the reason; the properties
/// carry the same facts for a program to act on. <c>Throw*</c> helpers keep the throwing paths out of hot methods.
/// </summary>
/// <remarks>
/// Catch policy: none of these is caught inside the library except <see cref="ConnectionLost"/> where a best-effort
/// request (a release, a cancel) meets a runtime that is ending; the rest go to the user's program.
/// </remarks>
internal static class DragonErrors
{
    /// <summary>The exception for a service's error reply, its properties filled from the reply's context.</summary>
    public static Exception FromReply(ErrorReply error, CancellationToken cancellationToken = default)
    {
        var c = error.Context;
        return error.Kind switch
        {
            ErrorKind.Cancelled => new OperationCanceledException(error.Message, cancellationToken),
            ErrorKind.InvalidArgument => new ArgumentException(error.Message),
            ErrorKind.Closed => new InvalidOperationException(error.Message),
            ErrorKind.NotFound => WithContext(new ProcessNotFoundException(error.Message), c),
            ErrorKind.StartFailed => WithContext(new ProcessStartException(error.Message), c),
            ErrorKind.GroupFailed => WithContext(new ProcessGroupException(error.Message), c),
            ErrorKind.ObjectNotFound => WithContext(new ObjectNotFoundException(error.Message), c),
            ErrorKind.NodeLost => WithContext(new NodeLostException(error.Message), c),
            _ => WithContext(new DragonException(error.Message), c),
        };
    }

    /// <summary>This process was not started by <c>dragon</c>: there is no runtime to talk to.</summary>
    public static DragonException NotInRuntime() =>
        new("this program is not running inside a Dragon runtime: start it with `dragon <program>`, or host one in the program " +
            "with `await using var runtime = await LocalRuntime.StartAsync(nodes: 2);` (package Dragon.Hosting)");

    public static DragonException CannotReach(string socketPath, Exception reason) =>
        new($"cannot reach the node service at {socketPath}: {reason.Message} (has the runtime ended?)", reason);

    public static DragonException Refused(string why) => new($"the node service refused this process: {why}");

    public static DragonException ClosedDuringHello() => new("the node service closed the connection during hello");

    public static DragonException UnexpectedReply(IMessage reply, IMessage request) =>
        new($"unexpected reply {reply.GetType().Name} to {request.GetType().Name}");

    /// <summary>The control connection to this process's node service ended (the runtime is ending, or the service died).</summary>
    public static DragonException ConnectionLost(Exception reason) =>
        new("the connection to the node service is lost: " + reason.Message, reason);

    /// <summary>A C# method target that cannot be built or run (<paramref name="why"/> says which part is wrong).</summary>
    public static DragonException MethodTarget(string why) => new(why);

    /// <summary>A barrier wait that cannot complete (for <c>DragonBarrier</c>); <paramref name="describe"/> is "barrier 'name'".</summary>
    public static BrokenBarrierException BrokenBarrier(string describe, string name, string? reason = null) =>
        new(string.IsNullOrEmpty(reason) ? $"{describe} is broken" : $"{describe} is broken: {reason}") { ObjectName = name };

    private static T WithContext<T>(T exception, ErrorContext? context)
        where T : DragonException
    {
        if (context is not null)
        {
            exception.Puid = context.Puid;
            exception.NodeIndex = context.NodeIndex;
            exception.Rank = context.Rank;
            exception.ExitCode = context.ExitCode;
            exception.Signal = context.Signal;
            exception.ObjectName = context.ObjectName;
        }

        return exception;
    }
}
