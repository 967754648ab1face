using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>Every log message of the hosted objects, source-generated: what a dead process's death did to them.</summary>
internal static partial class ObjectLog
{
    [LoggerMessage(41, LogLevel.Warning, "lock '{ObjectName}': owner puid {Puid} exited holding it; released, and its waiters woken")]
    public static partial void LockReleased(ILogger logger, string objectName, ulong puid);

    [LoggerMessage(42, LogLevel.Warning, "barrier '{ObjectName}': party puid {Puid} exited while waiting; the barrier is broken for the {Waiting} other waiting parties")]
    public static partial void BarrierPartyDied(ILogger logger, string objectName, ulong puid, int waiting);

    [LoggerMessage(44, LogLevel.Information, "{Kind} '{ObjectName}': waiting puid {Puid} exited; its wait is withdrawn")]
    public static partial void WaiterDied(ILogger logger, string kind, string objectName, ulong puid);
}
