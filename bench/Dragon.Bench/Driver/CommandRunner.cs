using System.Diagnostics;
using System.Text;

namespace Dragon.Bench.Driver;

/// <summary>Runs one command to completion, timing it from just before start to exit.</summary>
internal static class CommandRunner
{
    /// <param name="file">The executable.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="timeout">How long it may run before it is killed.</param>
    /// <param name="environment">Variables added to this process's environment for the command; null for none.</param>
    public static CommandResult Run(string file, IReadOnlyList<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var description = string.Join(' ', (environment ?? new Dictionary<string, string>()).Select(v => $"{v.Key}={v.Value}").Concat(args.Prepend(file)));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new System.Diagnostics.Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);

        var cpuBefore = ChildCpu.Milliseconds();
        var start = Stopwatch.GetTimestamp();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            // Only the tree this call started: the command and its descendants.
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new CommandResult(description, start, double.NaN, double.NaN, -1, stdout.ToString(), $"timed out after {timeout.TotalSeconds:F0} s\n{stderr}");
        }

        var end = Stopwatch.GetTimestamp();
        // The parameterless wait also drains the redirected streams.
        process.WaitForExit();
        var cpu = ChildCpu.Milliseconds() - cpuBefore;
        return new CommandResult(description, start, (end - start) * 1000.0 / Stopwatch.Frequency, cpu, process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.Append(line).Append('\n');
        }
    }
}
