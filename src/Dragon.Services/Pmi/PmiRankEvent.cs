namespace Dragon.Services.Pmi;

/// <summary>What happened to one rank of a <see cref="PmiJob"/>, as seen over its PMI connection.</summary>
internal enum PmiRankEventKind
{
    /// <summary>The rank sent its first request over its socketpair (it is inside <c>MPI_Init</c>).</summary>
    Connected,

    /// <summary>The rank entered its first barrier: <c>MPI_Init</c> is exchanging addresses.</summary>
    Initialized,

    /// <summary>The rank sent <c>finalize</c> and got its acknowledgement (<c>MPI_Finalize</c>).</summary>
    Finalized,

    /// <summary>The rank sent <c>abort</c> (<c>MPI_Abort</c>); it now waits to be killed, with every other rank.</summary>
    Aborted,

    /// <summary>The rank broke the protocol or its barrier could not complete; the server closed its connection.</summary>
    ProtocolError,

    /// <summary>The rank's socket closed before <c>finalize</c>: the rank exited or died without finalizing.</summary>
    Disconnected,
}

/// <summary>Where one rank of a <see cref="PmiJob"/> stands; the last four values are final.</summary>
internal enum PmiRankState
{
    /// <summary>Silent so far: the rank has not reached <c>MPI_Init</c> (or exited before it).</summary>
    NotConnected,

    /// <summary>First request received, no barrier yet.</summary>
    Connected,

    /// <summary>At least one barrier entered.</summary>
    Initialized,

    /// <summary>Finalized cleanly.</summary>
    Finalized,

    /// <summary>Sent <c>abort</c>.</summary>
    Aborted,

    /// <summary>Closed by the server after a protocol error.</summary>
    Failed,

    /// <summary>The socket closed before <c>finalize</c>.</summary>
    Disconnected,
}

/// <summary>A change of state of one rank, raised by <see cref="PmiJob.RankEvent"/>.</summary>
/// <param name="Job">The job the rank belongs to.</param>
/// <param name="Rank">The rank in the job (<c>MPI_COMM_WORLD</c> rank), not its PMI id.</param>
/// <param name="Kind">What happened.</param>
/// <param name="ExitCode">For <see cref="PmiRankEventKind.Aborted"/>: the exit code passed to <c>MPI_Abort</c>.</param>
/// <param name="Message">For <see cref="PmiRankEventKind.ProtocolError"/>: the reason; for an abort: the rank's message, if it sent one.</param>
internal readonly record struct PmiRankEvent(PmiJob Job, int Rank, PmiRankEventKind Kind, int? ExitCode = null, string? Message = null)
{
    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        PmiRankEventKind.Connected => $"rank {Rank} of {Job.KvsName} connected",
        PmiRankEventKind.Initialized => $"rank {Rank} of {Job.KvsName} entered its first barrier (in MPI_Init)",
        PmiRankEventKind.Finalized => $"rank {Rank} of {Job.KvsName} finalized",
        PmiRankEventKind.Aborted => $"rank {Rank} of {Job.KvsName} aborted with exit code {ExitCode}{(Message is null ? "" : ": " + Message)}",
        PmiRankEventKind.ProtocolError => $"rank {Rank} of {Job.KvsName} failed: {Message}",
        PmiRankEventKind.Disconnected => $"rank {Rank} of {Job.KvsName} closed its PMI connection without finalizing",
        _ => $"rank {Rank} of {Job.KvsName}: {(int)Kind}",
    };
}
