using Dragon.Runtime.Protocol;
using Microsoft.Extensions.Logging;

namespace Dragon.Runtime;

/// <summary>
/// Every log event of the client library, source-generated (no reflection, no boxing, skipped when disabled). The
/// loggers come from <see cref="DragonRuntime.LoggerFactory"/>; event ids are stable, names are the method names.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Connected to the runtime {RunId} on node {NodeIndex} ({NodeName}) through {SocketPath} as puid {Puid}")]
    public static partial void Connected(ILogger logger, string runId, int nodeIndex, string nodeName, string socketPath, ulong puid);

    [LoggerMessage(2, LogLevel.Debug, "Created {Kind} '{ObjectName}' on node {HomeNode}")]
    public static partial void ObjectCreated(ILogger logger, ObjectKind kind, string objectName, int homeNode);

    [LoggerMessage(3, LogLevel.Debug, "Attached to {Kind} '{ObjectName}' on node {HomeNode}")]
    public static partial void ObjectAttached(ILogger logger, ObjectKind kind, string objectName, int homeNode);

    [LoggerMessage(4, LogLevel.Debug, "{Op} on {Kind} '{ObjectName}' was cancelled on its home node {HomeNode}")]
    public static partial void CancelledAcrossNodes(ILogger logger, ObjectOp op, ObjectKind kind, string objectName, int homeNode);

    [LoggerMessage(5, LogLevel.Warning, "{Request} failed: node {NodeIndex} is lost ({Reason})")]
    public static partial void NodeLost(ILogger logger, string request, int? nodeIndex, string reason);

    [LoggerMessage(6, LogLevel.Warning, "Pool worker {Slot} (puid {Puid} on node {NodeIndex}) {Reason}; its tasks are queued again")]
    public static partial void WorkerLost(ILogger logger, int slot, ulong puid, int nodeIndex, string reason);

    [LoggerMessage(7, LogLevel.Error, "Pool worker {Slot} could not be replaced: {Reason}")]
    public static partial void WorkerNotReplaced(ILogger logger, int slot, string reason);
}
