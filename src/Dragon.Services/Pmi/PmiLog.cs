using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>Every log message of the PMI server, source-generated (no boxing, skipped when disabled).</summary>
internal static partial class PmiLog
{
    [LoggerMessage(4, LogLevel.Debug, "PMI job {KvsName} created: {Size} ranks, {LocalCount} local, mapping {Mapping}")]
    public static partial void JobCreated(ILogger logger, string kvsName, int size, int localCount, string mapping);

    [LoggerMessage(5, LogLevel.Debug, "PMI job {KvsName} closed")]
    public static partial void JobClosed(ILogger logger, string kvsName);

    [LoggerMessage(7, LogLevel.Debug, "PMI {Event}")]
    public static partial void RankEvent(ILogger logger, PmiRankEvent @event);

    [LoggerMessage(8, LogLevel.Warning, "PMI {Event}")]
    public static partial void RankFailed(ILogger logger, PmiRankEvent @event);

    [LoggerMessage(9, LogLevel.Error, "PMI job {KvsName}: barrier exchange failed, failing the {Count} local ranks waiting in it")]
    public static partial void ExchangeFailed(ILogger logger, string kvsName, int count, Exception exception);

    [LoggerMessage(10, LogLevel.Error, "PMI job {KvsName}: a RankEvent handler threw")]
    public static partial void HandlerFailed(ILogger logger, string kvsName, Exception exception);

    [LoggerMessage(11, LogLevel.Trace, "PMI job {KvsName} rank {Rank} <- {Line}")]
    public static partial void Request(ILogger logger, string kvsName, int rank, string line);

    [LoggerMessage(12, LogLevel.Debug, "PMI job {KvsName}: barrier {Epoch} complete, {LocalPuts} local and {AllPuts} job-wide puts")]
    public static partial void BarrierComplete(ILogger logger, string kvsName, long epoch, int localPuts, int allPuts);

    [LoggerMessage(14, LogLevel.Error, "PMI connection of rank {Rank} of {KvsName} failed inside the server")]
    public static partial void ConnectionFailed(ILogger logger, string kvsName, int rank, Exception exception);
}
