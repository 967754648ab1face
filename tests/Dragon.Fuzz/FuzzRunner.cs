using System.Diagnostics;

namespace Dragon.Fuzz;

/// <summary>What one target did: inputs run, documented rejections, and failures (undocumented exceptions).</summary>
internal sealed record TargetResult(string Name, long Inputs, long Rejected, IReadOnlyDictionary<string, long> Failures, TimeSpan Elapsed)
{
    public long FailureCount => Failures.Values.Sum();

    public override string ToString() =>
        $"{Name}: {Inputs} inputs, {Rejected} rejected with a documented exception, {FailureCount} failures in {Elapsed.TotalSeconds:F1} s"
        + string.Concat(Failures.Select(f => $"\n  {f.Value} x {f.Key}"));
}

/// <summary>
/// Runs a target over <c>count</c> inputs. Input i of a target is mutated from a random stream seeded by (seed, i),
/// so <c>--from i --count 1</c> replays it. A watchdog thread ends the process (exit code 3) when one input runs
/// longer than the hang limit; the input is saved first. The first input of each failure kind is saved too.
/// </summary>
internal sealed class FuzzRunner(int seed, TimeSpan hangLimit, string saveDirectory)
{
    private long _inputStarted;
    private byte[] _current = [];
    private string _currentTarget = string.Empty;
    private long _currentIndex;
    private Thread? _watchdog;

    public TargetResult Run(FuzzTarget target, long from, long count)
    {
        _watchdog ??= StartWatchdog();
        var failures = new Dictionary<string, long>();
        long rejected = 0;
        var clock = Stopwatch.StartNew();
        for (var i = from; i < from + count; i++)
        {
            var random = new Random(unchecked((int)((seed * 0x9E3779B1L) ^ (i * 0x85EBCA6BL) ^ StableHash(target.Name))));
            var input = Mutator.Mutate(random, target.Seeds);
            _current = input;
            _currentTarget = target.Name;
            _currentIndex = i;
            Volatile.Write(ref _inputStarted, Stopwatch.GetTimestamp());
            try
            {
                target.Run(input);
            }
            catch (Exception e) when (target.IsDocumented(e))
            {
                rejected++;
            }
            catch (Exception e)
            {
                var kind = $"{e.GetType().FullName}: {e.Message.Split('\n')[0]}";
                kind = kind.Length > 160 ? kind[..160] : kind;
                var key = e.GetType().FullName + " at " + (e.StackTrace?.Split('\n').FirstOrDefault()?.Trim() ?? "?");
                if (!failures.ContainsKey(key))
                {
                    Save($"fail-{target.Name}-{i}.bin", input);
                    Console.Error.WriteLine($"{target.Name} input {i}: {kind}\n{e.StackTrace}");
                }

                failures[key] = failures.GetValueOrDefault(key) + 1;
            }

            Volatile.Write(ref _inputStarted, 0);
        }

        return new TargetResult(target.Name, count, rejected, failures, clock.Elapsed);
    }

    /// <summary>string.GetHashCode is randomized per process; inputs must be the same from run to run.</summary>
    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = (hash * 31) + c;
        }

        return hash;
    }

    private void Save(string name, byte[] input)
    {
        Directory.CreateDirectory(saveDirectory);
        File.WriteAllBytes(Path.Combine(saveDirectory, name), input);
    }

    private Thread StartWatchdog()
    {
        var thread = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(100);
                var started = Volatile.Read(ref _inputStarted);
                if (started != 0 && Stopwatch.GetElapsedTime(started) > hangLimit)
                {
                    Save($"hang-{_currentTarget}-{_currentIndex}.bin", _current);
                    Console.Error.WriteLine($"HANG: {_currentTarget} input {_currentIndex} ran longer than {hangLimit.TotalSeconds:F0} s");
                    Console.Out.Flush();
                    Environment.Exit(3);
                }
            }
        }) { IsBackground = true, Name = "fuzz watchdog" };
        thread.Start();
        return thread;
    }
}
