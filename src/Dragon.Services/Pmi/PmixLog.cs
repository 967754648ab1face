using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>Every log message of the embedded PMIx server, source-generated.</summary>
internal static partial class PmixLog
{
    [LoggerMessage(30, LogLevel.Information, "PMIx server started (libpmix.so.2), rendezvous directory {Directory}")]
    public static partial void ServerStarted(ILogger logger, string directory);

    [LoggerMessage(32, LogLevel.Debug, "PMIx job {Nspace} registered: {Size} ranks, {LocalCount} local, node map {NodeMap}, proc map {ProcMap}")]
    public static partial void JobRegistered(ILogger logger, string nspace, int size, int localCount, string nodeMap, string procMap);

    [LoggerMessage(33, LogLevel.Debug, "PMIx job {Nspace} closed")]
    public static partial void JobClosed(ILogger logger, string nspace);

    [LoggerMessage(34, LogLevel.Debug, "PMIx job {Nspace}: rank {Rank} {Event}")]
    public static partial void RankEvent(ILogger logger, string nspace, int rank, PmiRankEventKind @event);

    [LoggerMessage(35, LogLevel.Warning, "PMIx job {Nspace}: rank {Rank} aborted with status {Status}: {Message}")]
    public static partial void RankAborted(ILogger logger, string nspace, int rank, int status, string? message);

    [LoggerMessage(36, LogLevel.Error, "PMIx job {Nspace}: a fence could not complete")]
    public static partial void FenceFailed(ILogger logger, string nspace, Exception exception);

    [LoggerMessage(37, LogLevel.Debug, "PMIx job {Nspace}: fence {Epoch} complete, {LocalBytes} local and {AllBytes} job-wide bytes")]
    public static partial void FenceComplete(ILogger logger, string nspace, long epoch, int localBytes, int allBytes);

    [LoggerMessage(38, LogLevel.Error, "PMIx job {Nspace}: a RankEvent handler threw")]
    public static partial void HandlerFailed(ILogger logger, string nspace, Exception exception);
}
