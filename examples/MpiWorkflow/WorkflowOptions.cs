using Dragon;

namespace MpiWorkflow;

/// <summary>The workflow's command line, validated with errors that name the option.</summary>
public sealed record WorkflowOptions(int Producers, int Concurrent, int Ranks, string MpiExe, string[] MpiArgs)
{
    public const string Usage = "usage: MpiWorkflow [--producers N] [--concurrent N] [--ranks N] [--mpi-exe PATH] [--mpi-args \"ARGS\"]";

    public static WorkflowOptions Parse(string[] args)
    {
        int producers = 5, concurrent = 2;
        int? ranks = null;
        string? exe = null;
        var mpiArgs = Array.Empty<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
            switch (args[i])
            {
                case "--producers":
                    producers = Positive("--producers", Value());
                    break;
                case "--concurrent":
                    concurrent = Positive("--concurrent", Value());
                    break;
                case "--ranks":
                    ranks = Positive("--ranks", Value());
                    break;
                case "--mpi-exe":
                    exe = Value();
                    break;
                case "--mpi-args":
                    mpiArgs = Value().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        exe = exe is null ? BundledBenchmark() : Path.GetFullPath(exe);
        if (!File.Exists(exe))
        {
            throw new ArgumentException($"--mpi-exe {exe} does not exist");
        }

        if (OperatingSystem.IsLinux() && (File.GetUnixFileMode(exe) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
        {
            throw new ArgumentException($"--mpi-exe {exe} is not executable");
        }

        return new WorkflowOptions(producers, concurrent, ranks ?? DefaultRanks(), exe, mpiArgs);
    }

    /// <summary>Half the cores of the run, at least 2, leaving a couple to the runtime on big allocations.</summary>
    private static int DefaultRanks()
    {
        var cpus = SystemInfo.CpuCount;
        return Math.Max(2, (cpus / 2) - (cpus >= 16 ? 2 : 0));
    }

    private static int Positive(string option, string text) =>
        int.TryParse(text, out var n) && n >= 1 ? n : throw new ArgumentException($"{option} takes a whole number of at least 1, not '{text}'");

    /// <summary>examples/mpi/alltoall.c, built by scripts/build into artifacts/mpi/.</summary>
    private static string BundledBenchmark()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "artifacts", "mpi", "alltoall");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new ArgumentException("the bundled benchmark artifacts/mpi/alltoall is not built (run scripts/build), or pass --mpi-exe");
    }
}
