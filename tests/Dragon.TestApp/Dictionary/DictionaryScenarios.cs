using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// The dictionary used by many processes over two nodes: a million keys written by four writers and read back from
/// a process on each node (point reads and enumeration), and a counter many processes add to after waiting for a key.
/// Each writes a typed result (JSON) and judges nothing itself.
/// </summary>
public static class DictionaryScenarios
{
    public static int Million(string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");
        const int Keys = 1_000_000;
        const int Writers = 4;
        using var dict = new DragonDictionary<string, long>(new() { MemoryPerManager = 192L << 20, MaxKeysPerManager = 800_000 });
        var watch = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, Writers)
            .Select(w => DragonProcess.Start(ProcessTemplate.FromMethod(Write, dict, w, Writers, Keys) with { Policy = Policy.OnNode(w % 2) }))
            .ToArray();
        var writerCodes = writers.Select(p => p.Join(TimeSpan.FromSeconds(240))).ToArray();
        var writeSeconds = watch.Elapsed.TotalSeconds;

        var readers = new List<DictionaryReadResult>();
        foreach (var node in new[] { 0, 1 })
        {
            var path = $"{resultPath}.reader{node}";
            var reader = DragonProcess.Start(ProcessTemplate.FromMethod(Read, dict, Keys, path) with { Policy = Policy.OnNode(node) });
            Check.That(reader.Join(TimeSpan.FromSeconds(240)) == 0, $"the reader on node {node} ended well");
            readers.Add(JsonSerializer.Deserialize<DictionaryReadResult>(File.ReadAllText(path))!);
            File.Delete(path);
        }

        var result = new DictionaryMillionResult(
            Keys, writerCodes, writeSeconds, dict.Count, [.. dict.GetStats().Select(s => s.Keys)], [.. readers]);
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>Writes every <paramref name="writers"/>-th key from <paramref name="first"/>: most in batches, some one by one.</summary>
    public static int Write(DragonDictionary<string, long> dict, int first, int writers, int keys)
    {
        var batch = new List<KeyValuePair<string, long>>(5000);
        var batches = 0;
        for (var i = first; i < keys; i += writers)
        {
            batch.Add(KeyValuePair.Create(Key(i), (long)i));
            if (batch.Count == batch.Capacity || i + writers >= keys)
            {
                if (++batches % 10 == 0)
                {
                    foreach (var (key, value) in batch)
                    {
                        dict[key] = value;
                    }
                }
                else
                {
                    dict.SetMany(batch);
                }

                batch.Clear();
            }
        }

        return 0;
    }

    /// <summary>Reads every key back: on this node's manager from shared memory, the rest by pipelined requests; then enumerates.</summary>
    public static int Read(DragonDictionary<string, long> dict, int keys, string resultPath)
    {
        var watch = Stopwatch.StartNew();
        int right = 0, wrong = 0;
        var remote = new List<int>();
        var local = dict.LocalManagers.ToHashSet();
        for (var i = 0; i < keys; i++)
        {
            var key = Key(i);
            if (!local.Contains(dict.ManagerOf(key)))
            {
                remote.Add(i);
            }
            else if (dict.TryGetValue(key, out var value) && value == i)
            {
                right++;
            }
            else
            {
                wrong++;
            }
        }

        foreach (var chunk in remote.Chunk(512))
        {
            var reads = chunk.Select(i => dict.TryGetValueAsync(Key(i))).ToArray();
            Task.WaitAll(reads);
            for (var j = 0; j < chunk.Length; j++)
            {
                if (reads[j].Result is (true, var value) && value == chunk[j])
                {
                    right++;
                }
                else
                {
                    wrong++;
                }
            }
        }

        var seen = new bool[keys];
        int enumerated = 0, enumeratedRight = 0, duplicates = 0;
        foreach (var (key, value) in dict)
        {
            enumerated++;
            var index = int.Parse(key.AsSpan(1), CultureInfo.InvariantCulture);
            if (seen[index])
            {
                duplicates++;
            }

            seen[index] = true;
            if (value == index)
            {
                enumeratedRight++;
            }
        }

        var result = new DictionaryReadResult(
            Node.Current.Index, right, wrong, enumerated, enumeratedRight, duplicates, dict.Count, watch.Elapsed.TotalSeconds);
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    public static int Counters(string resultPath)
    {
        Console.WriteLine($"INFO run {SystemInfo.RunId}");
        Check.That(SystemInfo.Nodes.Count >= 2, "the run has two nodes");
        using var dict = new DragonDictionary<string, long>();
        var counters = Enumerable.Range(0, 8)
            .Select(i => DragonProcess.Start(ProcessTemplate.FromMethod(Count, dict, 10_000) with { Policy = Policy.OnNode(i % 2) }))
            .ToArray();

        // The counters wait for "start", on both nodes; none may have got past it before it is put.
        Thread.Sleep(1000);
        var early = dict.ContainsKey("counter");
        dict["start"] = 1;
        var codes = counters.Select(p => p.Join(TimeSpan.FromSeconds(240))).ToArray();
        var result = new DictionaryCountersResult(
            dict["counter"], codes, [.. counters.Select(p => p.Node.Index)], early, dict.ManagerNodes[dict.ManagerOf("start")]);
        File.WriteAllText(resultPath, JsonSerializer.Serialize(result));
        return 0;
    }

    public static int Count(DragonDictionary<string, long> dict, int adds)
    {
        _ = dict.WaitFor("start", TimeSpan.FromSeconds(120));
        for (var i = 0; i < adds; i++)
        {
            dict.Increment("counter");
        }

        return 0;
    }

    private static string Key(int i) => "k" + i.ToString(CultureInfo.InvariantCulture);
}
