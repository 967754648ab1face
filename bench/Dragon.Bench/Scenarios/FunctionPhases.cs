using System.Diagnostics;
using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// Diagnosis of the function-launch benchmark. One process at a time (so nothing competes with it) is started and
/// joined, of three kinds that each add a layer:
/// <list type="bullet">
/// <item><c>noop</c>: this program as a plain executable that returns at once (the .NET host's start-up);</item>
/// <item><c>connect</c>: the same, but it first connects to its node service (the Dragon client);</item>
/// <item><c>method</c>: a C# method target (startup hook, connection, target request, decode, invoke, exit); it
/// writes the clock when the method is entered.</item>
/// </list>
/// A fourth kind, <see cref="ClientStartupSteps"/>, times the first use of each piece a method target's start-up goes
/// through, in a fresh process, in the order the start-up uses them.
/// </summary>
public static class FunctionPhases
{
    public static int Run(int repeats)
    {
        Report.RunId();
        var host = Environment.ProcessPath!;
        var dll = typeof(FunctionPhases).Assembly.Location;
        var runDir = Environment.GetEnvironmentVariable("DRAGON_RUN_DIR") ?? Path.GetTempPath();
        var stampPath = Path.Combine(runDir, "bench-entry.stamp");
        var payloadPath = Path.Combine(runDir, "bench-target.json");
        File.WriteAllBytes(payloadPath, ClientStartupSteps.EncodeNoOpTarget());
        (string Name, ProcessTemplate Template)[] kinds =
        [
            ("noop", ProcessTemplate.Executable(host, dll, "startup-noop")),
            ("connect", ProcessTemplate.Executable(host, dll, "startup-connect")),
            ("method", ProcessTemplate.FromMethod(Stamp, stampPath)),
            ("steps", ProcessTemplate.Executable(host, dll, "client-steps", payloadPath) with { Stdout = Stdio.Pipe }),
        ];
        var figures = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string name, double value)
        {
            if (!figures.TryGetValue(name, out var list))
            {
                figures[name] = list = [];
            }

            list.Add(value);
        }

        for (var round = -1; round < repeats; round++)
        {
            foreach (var (name, template) in kinds)
            {
                var start = Stopwatch.GetTimestamp();
                var process = DragonProcess.Start(template);
                var output = process.Stdout?.ReadAllAsync<string>().ToBlockingEnumerable().ToList() ?? [];
                var code = process.Join();
                var end = Stopwatch.GetTimestamp();
                if (code != 0)
                {
                    Console.Error.WriteLine($"a {name} process exited with {code}");
                    return 1;
                }

                if (round < 0)
                {
                    continue; // warm-up: page cache, the head's own code paths
                }

                Add($"phase_{name}_ms", Report.Milliseconds(start, end));
                if (name == "method")
                {
                    var entered = long.Parse(File.ReadAllText(stampPath), CultureInfo.InvariantCulture);
                    Add("phase_method_entry_ms", Report.Milliseconds(start, entered));
                }

                foreach (var line in output.Where(l => l.StartsWith(Report.Prefix, StringComparison.Ordinal)))
                {
                    var equals = line.IndexOf('=', StringComparison.Ordinal);
                    Add($"step_{line[Report.Prefix.Length..equals]}", double.Parse(line[(equals + 1)..], CultureInfo.InvariantCulture));
                }
            }
        }

        File.Delete(stampPath);
        File.Delete(payloadPath);
        foreach (var (name, list) in figures)
        {
            Report.Value(name, Percentile.Median(list));
        }

        return 0;
    }

    /// <summary>The method target: writes the clock as it is entered.</summary>
    public static void Stamp(string path) =>
        File.WriteAllText(path, Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture));

    /// <summary>The <c>startup-connect</c> executable: connects to the node service, then returns.</summary>
    public static int Connect()
    {
        _ = SystemInfo.RunId;
        return 0;
    }
}
