using System.Globalization;

namespace Dragon.TestApp;

/// <summary>Where concurrent work lands; prints one <c>key=value</c> line the test parses.</summary>
public static class PlacementScenarios
{
    /// <summary>
    /// Two groups of two sleepers, round-robin, started one after the other while the first still runs (two
    /// concurrent two-rank jobs on four nodes): prints the nodes of each and ends both.
    /// </summary>
    public static int ConcurrentSpreads()
    {
        using var first = new ProcessGroup();
        first.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "60") with { Policy = Policy.RoundRobin });
        first.Start();
        using var second = new ProcessGroup();
        second.AddProcess(2, ProcessTemplate.Executable("/bin/sleep", "60") with { Policy = Policy.RoundRobin });
        second.Start();
        Console.WriteLine($"first={Nodes(first)} second={Nodes(second)}");
        first.Kill();
        second.Kill();
        return 0;
    }

    private static string Nodes(ProcessGroup group) =>
        string.Join(',', group.GetProcesses().Select(p => p.Node.Index.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal));
}
