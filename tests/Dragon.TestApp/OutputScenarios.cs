namespace Dragon.TestApp;

/// <summary>Scenarios about how much the runtime keeps: output no one reads yet, and records of exited processes.</summary>
public static class OutputScenarios
{
    /// <summary>
    /// A child writes <paramref name="lines"/> lines of <paramref name="bytes"/> bytes into a pipe no one reads until
    /// the test says so (a line on stdin); then every line is read.
    /// </summary>
    public static int Unread(int lines, int bytes)
    {
        var writer = DragonProcess.Start(ProcessTemplate.Executable("/usr/bin/perl", "-e", $"print \"y\" x {bytes}, \"\\n\" for 1..{lines}") with { Stdout = Stdio.Pipe });
        Console.WriteLine("READY");
        Console.Out.Flush();
        _ = Console.ReadLine();
        var count = 0;
        var whole = true;
        foreach (var line in writer.Stdout!.ReadAllAsync<string>().ToBlockingEnumerable())
        {
            count++;
            whole &= line.Length == bytes;
        }

        Check.That(count == lines && whole, $"all {lines} lines of {bytes} bytes arrived ({count} lines)");
        Check.That(writer.Join(TimeSpan.FromSeconds(30)) == 0, "the writer exited 0");
        return 0;
    }

    /// <summary>
    /// Starts <paramref name="count"/> short processes in groups of <paramref name="batch"/>, pausing (PAUSE, then a
    /// line on stdin) after the first group and at the end, so the test can weigh the launcher in between.
    /// </summary>
    public static int ManyShort(int count, int batch)
    {
        for (var started = 0; started < count; started += batch)
        {
            var group = new ProcessGroup();
            group.AddProcess(batch, ProcessTemplate.Executable("/bin/true"));
            group.Start();
            Check.That(group.TryJoin(TimeSpan.FromSeconds(120)), $"group of {batch} ended");
            group.Close();
            if (started == 0)
            {
                Console.WriteLine($"PAUSE {batch}");
                Console.Out.Flush();
                _ = Console.ReadLine();
            }
        }

        Console.WriteLine($"PAUSE {count}");
        Console.Out.Flush();
        _ = Console.ReadLine();
        return 0;
    }
}
