namespace Dragon.TestApp;

/// <summary>
/// For the wire-up benchmark: time from group start until every rank printed that it is past MPI_Init. The PMI flavour
/// follows the program (Pmi.Auto): PMI-1 for the MPICH build, PMIx for the Open MPI one.
/// </summary>
public static class WireupProbe
{
    public static int Run(string mpitest, int samples)
    {
        for (var i = 0; i < samples; i++)
        {
            using var group = new ProcessGroup(pmi: Pmi.Auto);
            group.AddProcess(2, ProcessTemplate.Executable(mpitest, "hello") with { Stdout = Stdio.Pipe });
            var start = RealtimeNanoseconds();
            group.Start();
            long last = 0;
            foreach (var member in group.GetProcesses())
            {
                foreach (var line in member.Stdout!.ReadAllAsync<string>().ToBlockingEnumerable())
                {
                    if (line.StartsWith("initialized ", StringComparison.Ordinal))
                    {
                        last = Math.Max(last, long.Parse(line[(line.IndexOf("t=", StringComparison.Ordinal) + 2)..], System.Globalization.CultureInfo.InvariantCulture));
                    }
                }
            }

            group.Join();
            Console.WriteLine($"WIREUP_US {(last - start) / 1000.0:F0}");
        }

        return 0;
    }

    private static long RealtimeNanoseconds() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
}
