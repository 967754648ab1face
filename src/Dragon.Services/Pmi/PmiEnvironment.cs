namespace Dragon.Services.Pmi;

/// <summary>The environment variables through which a rank finds its PMI server.</summary>
internal static class PmiEnvironment
{
    /// <summary><c>host:port</c> of the PMI server; the rank connects there in <c>MPI_Init</c>.</summary>
    public const string Port = "PMI_PORT";

    /// <summary>The id the rank sends in <c>cmd=initack pmiid=</c>; it names the job and the rank on this server.</summary>
    public const string Id = "PMI_ID";

    /// <summary>The rank, for the program's own use before <c>MPI_Init</c> (MPICH reads it only in FD mode).</summary>
    public const string Rank = "PMI_RANK";

    /// <summary>The job size, likewise informational in PORT mode.</summary>
    public const string Size = "PMI_SIZE";

    /// <summary>How many ranks of the job share this node (set as hydra does).</summary>
    public const string LocalRankCount = "MPI_LOCALNRANKS";

    /// <summary>This rank's index among the ranks on its node.</summary>
    public const string LocalRankId = "MPI_LOCALRANKID";

    /// <summary>
    /// True for a variable a launcher must not pass on from its own environment: <c>PMI_*</c>,
    /// <c>HYD*</c> and <c>MPI_LOCAL*</c>. The launcher may itself run under mpiexec, and a stale
    /// <c>PMI_FD</c> would win over <c>PMI_PORT</c> in the rank.
    /// </summary>
    public static bool IsInherited(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith("PMI_", StringComparison.Ordinal)
            || name.StartsWith("HYD", StringComparison.Ordinal)
            || name.StartsWith("MPI_LOCAL", StringComparison.Ordinal);
    }
}
