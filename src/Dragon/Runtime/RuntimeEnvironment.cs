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

    /// <summary>
    /// Set in a child started for a C# method target: the encoded target itself, or
    /// <see cref="MethodTargetOnRequest"/> when it is too large for the environment and must be fetched.
    /// </summary>
    public const string MethodTarget = "DRAGON_METHOD_TARGET";

    /// <summary>Value of <see cref="MethodTarget"/> telling the child to ask its node service for the target.</summary>
    public const string MethodTargetOnRequest = "1";

    /// <summary>Largest encoded target carried in the environment (Linux caps one string at 128 KiB).</summary>
    public const int MethodTargetInlineLimit = 32 * 1024;

    /// <summary>Prefix of every shared-memory file of a run under /dev/shm.</summary>
    public static string ShmPrefix(string runId) => "dragon-" + runId;
}
