namespace Dragon.Bench.Driver;

/// <summary>The machine the figures were measured on: CPUs, CPU model, kernel, load.</summary>
internal static class MachineInfo
{
    public static string Describe()
    {
        var model = File.ReadLines("/proc/cpuinfo")
            .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"machine: {Environment.ProcessorCount} CPUs, {model}, Linux {kernel}, load average {LoadAverage()}";
    }

    /// <summary>The 1, 5 and 15-minute load averages: how busy the shared machine was.</summary>
    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);
}
