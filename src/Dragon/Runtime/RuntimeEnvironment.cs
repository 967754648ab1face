namespace Dragon.Runtime;

/// <summary>Names of the environment variables through which the runtime reaches the processes it starts.</summary>
internal static class RuntimeEnvironment
{
    public const string RunId = "DRAGON_RUN_ID";
    public const string Socket = "DRAGON_SOCKET";
    public const string Secret = "DRAGON_SECRET";
    public const string Puid = "DRAGON_PUID";
    public const string NodeIndex = "DRAGON_NODE_INDEX";
    public const string RunDir = "DRAGON_RUN_DIR";

    /// <summary>Set in a child started for a C# method target; the startup hook reads it.</summary>
    public const string MethodTarget = "DRAGON_METHOD_TARGET";

    /// <summary>Prefix of every shared-memory file of a run under /dev/shm.</summary>
    public static string ShmPrefix(string runId) => "dragon-" + runId;
}
