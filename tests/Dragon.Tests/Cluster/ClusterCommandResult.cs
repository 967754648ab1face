namespace Dragon.Tests.Cluster;

/// <summary>The outcome of one command run on the fake cluster; deconstructs to (exit code, stdout, stderr).</summary>
public sealed record ClusterCommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The non-empty lines of stdout.</summary>
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <inheritdoc/>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}
