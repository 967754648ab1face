namespace Dragon.Services.Pmi;

/// <summary>The environment variables through which a rank finds its PMI server.</summary>
internal static class PmiEnvironment
{
    /// <summary>The inherited descriptor of the rank's end of its PMI socketpair; MPICH speaks PMI over it in <c>MPI_Init</c>.</summary>
    public const string Fd = "PMI_FD";

    /// <summary>The rank; in FD mode MPICH takes its rank from here.</summary>
    public const string Rank = "PMI_RANK";

    /// <summary>The job size; in FD mode MPICH takes the size from here.</summary>
    public const string Size = "PMI_SIZE";

    /// <summary>How many ranks of the job share this node (set as hydra does).</summary>
    public const string LocalRankCount = "MPI_LOCALNRANKS";

    /// <summary>This rank's index among the ranks on its node.</summary>
    public const string LocalRankId = "MPI_LOCALRANKID";

    /// <summary>The descriptor number at which the spawner places a rank's end of its PMI socketpair (after stdin, stdout, stderr).</summary>
    public const int RankFd = 3;

    /// <summary>
    /// True for a variable a launcher must not pass on from its own environment: <c>PMI_*</c>,
    /// <c>HYD*</c> and <c>MPI_LOCAL*</c>. The launcher may itself run under mpiexec, and a stale
    /// <c>PMI_PORT</c> or <c>PMI_ID</c> would send the rank to another server.
    /// </summary>
    public static bool IsInherited(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith("PMI_", StringComparison.Ordinal)
            || name.StartsWith("HYD", StringComparison.Ordinal)
            || name.StartsWith("MPI_LOCAL", StringComparison.Ordinal)
            || name.StartsWith("PMIX_", StringComparison.Ordinal)
            || (name.StartsWith("OMPI_", StringComparison.Ordinal) && !name.StartsWith("OMPI_MCA_", StringComparison.Ordinal));
    }

    /// <summary>True for the environment of an MPI rank: PMI-1 (<c>PMI_FD</c>) or PMIx (<c>PMIX_NAMESPACE</c>, from libpmix).</summary>
    public static bool IsRankEnvironment(IReadOnlyDictionary<string, string>? environment) =>
        environment is not null && (environment.ContainsKey(Fd) || environment.ContainsKey(PmixNamespace));

    /// <summary>The namespace libpmix's setup_fork gives a PMIx rank; its presence marks a PMIx rank's environment.</summary>
    public const string PmixNamespace = "PMIX_NAMESPACE";
}
