namespace Dragon.Services.Pmi;

/// <summary>The PMIx attribute names this server sets (pmix_common.h of PMIx 4.2), and the rank environment it adds.</summary>
internal static class PmixKeys
{
    public const string ServerTmpDir = "pmix.srvr.tmpdir";
    public const string SystemTmpDir = "pmix.sys.tmpdir";
    public const string ServerToolSupport = "pmix.srvr.tool";
    public const string ServerSystemSupport = "pmix.srvr.sys";

    // Job level.
    public const string UniverseSize = "pmix.univ.size";
    public const string JobSize = "pmix.job.size";
    public const string MaxProcs = "pmix.max.size";
    public const string JobId = "pmix.jobid";
    public const string JobNumApps = "pmix.job.napps";
    public const string Spawned = "pmix.spawned";
    public const string LocalSize = "pmix.local.size";
    public const string NodeSize = "pmix.node.size";
    public const string NumNodes = "pmix.num.nodes";
    public const string NodeMap = "pmix.nmap";
    public const string ProcMap = "pmix.pmap";
    public const string LocalPeers = "pmix.lpeers";
    public const string LocalLeader = "pmix.lldr";
    public const string TmpDir = "pmix.tmpdir";
    public const string NsDir = "pmix.nsdir";
    public const string RmCleansTmpDir = "pmix.tdir.rmclean";

    // Per process, inside PMIX_PROC_DATA.
    public const string ProcData = "pmix.pdata";
    public const string Rank = "pmix.rank";
    public const string AppNum = "pmix.appnum";
    public const string AppLeader = "pmix.aldr";
    public const string GlobalRank = "pmix.grank";
    public const string AppRank = "pmix.apprank";
    public const string LocalRank = "pmix.lrank";
    public const string NodeRank = "pmix.nrank";
    public const string Hostname = "pmix.hname";
    public const string NodeId = "pmix.nodeid";

    /// <summary>
    /// Open MPI 4.1 runs as a size-1 singleton unless the environment names a resource manager that launched it
    /// directly; Flux's job id is the lightest such hint (Slurm's would also make it look for srun).
    /// </summary>
    public const string ResourceManagerHint = "FLUX_JOB_ID";
}
