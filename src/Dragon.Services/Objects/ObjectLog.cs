using Microsoft.Extensions.Logging;

namespace Dragon.Services.Objects;

/// <summary>Every log message of the hosted objects, source-generated: what a dead process's death did to them.</summary>
internal static partial class ObjectLog
{
    [LoggerMessage(40, LogLevel.Warning, "lock '{ObjectName}': owner puid {Puid} exited holding it; handed to the next waiter, puid {NextPuid}")]
    public static partial void LockHandedOn(ILogger logger, string objectName, ulong puid, ulong nextPuid);

    [LoggerMessage(41, LogLevel.Warning, "lock '{ObjectName}': owner puid {Puid} exited holding it; released (nobody waits)")]
    public static partial void LockReleased(ILogger logger, string objectName, ulong puid);

    [LoggerMessage(42, LogLevel.Warning, "barrier '{ObjectName}': party puid {Puid} exited while waiting; the barrier is broken for the {Waiting} other waiting parties")]
    public static partial void BarrierPartyDied(ILogger logger, string objectName, ulong puid, int waiting);

    [LoggerMessage(43, LogLevel.Warning, "semaphore '{ObjectName}': puid {Puid} exited holding {Units} unit(s); they are not given back (value {Value})")]
    public static partial void SemaphoreHolderDied(ILogger logger, string objectName, ulong puid, long units, long value);

    [LoggerMessage(44, LogLevel.Information, "{Kind} '{ObjectName}': waiting puid {Puid} exited; its wait is withdrawn")]
    public static partial void WaiterDied(ILogger logger, string kind, string objectName, ulong puid);
}
