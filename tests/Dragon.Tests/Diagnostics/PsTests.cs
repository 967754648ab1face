using System.Text.Json;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary><c>dragon ps</c> from another process during a run, with and without the run's credentials.</summary>
public sealed class PsTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Ps_DuringFourNodeRun_ListsEveryNodeGroupAndRunningProcess()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "4"], "observe-sleepers", "8");
        run.WaitUntilReady(s_timeout);

        var ps = run.Dragon(null, "ps", "--json");
        Assert.True(ps.ExitCode == 0, ps.ToString());
        using var status = JsonDocument.Parse(ps.Stdout);
        var root = status.RootElement;

        var nodes = root.GetProperty("nodes").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3], nodes.Select(n => n.GetProperty("index").GetInt32()));
        Assert.Equal(["local0", "local1", "local2", "local3"], nodes.Select(n => n.GetProperty("name").GetString()));
        Assert.All(nodes, n => Assert.True(n.GetProperty("cpus").GetInt32() > 0 && n.GetProperty("memoryBytes").GetInt64() > 0));

        // The head and 8 sleepers, 2 per node (the head's node has 3); every one running.
        var processes = root.GetProperty("processes").EnumerateArray().ToArray();
        var sleepers = processes.Where(p => p.GetProperty("name").GetString() == "sleep").ToArray();
        Assert.Equal(8, sleepers.Length);
        Assert.All(processes, p => Assert.Equal("running", p.GetProperty("state").GetString()));
        Assert.All(processes, p => Assert.True(p.GetProperty("pid").GetInt32() > 0));
        Assert.Equal([0, 1, 2, 3], sleepers.Select(p => p.GetProperty("node").GetInt32()).Distinct().Order());
        Assert.Equal([3, 2, 2, 2], nodes.Select(n => n.GetProperty("processes").GetInt32()));

        var group = Assert.Single(root.GetProperty("groups").EnumerateArray().ToArray());
        Assert.Equal("running", group.GetProperty("state").GetString());
        Assert.Equal(8, group.GetProperty("members").GetInt32());
        Assert.Equal(8, group.GetProperty("running").GetInt32());
        Assert.Equal(0, group.GetProperty("exited").GetInt32());

        // The table names the same nodes and processes.
        var table = run.Dragon(null, "ps");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("local3", table.Stdout, StringComparison.Ordinal);
        Assert.Equal(8, table.Lines.Count(l => l.Contains(" running  sleep", StringComparison.Ordinal)));

        // The run's own secret (what its processes hold) is accepted too; a wrong one is refused, clearly.
        var head = processes.Single(p => p.GetProperty("group").GetUInt64() == 0);
        var secret = Environ(head.GetProperty("pid").GetInt32())["DRAGON_SECRET"];
        var withSecret = run.Dragon(new Dictionary<string, string> { ["DRAGON_SECRET"] = secret }, "ps", "--json", root.GetProperty("runId").GetString()!);
        Assert.True(withSecret.ExitCode == 0, withSecret.ToString());

        var refused = run.Dragon(new Dictionary<string, string> { ["DRAGON_SECRET"] = "0123456789abcdef0123456789abcdef" }, "ps", "--json");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(string.Empty, refused.Stdout);
        Assert.Contains("refused: the credential is not this run's secret or status token", refused.Stderr, StringComparison.Ordinal);

        run.Finish(s_timeout);
    }

    [Fact]
    public void Ps_NoRunning_RunSaysSo()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "1"], "observe-sleepers", "1");
        run.WaitUntilReady(s_timeout);
        var unknown = run.Dragon(null, "ps", "nosuchrun");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no run nosuchrun is running on this host", unknown.Stderr, StringComparison.Ordinal);
        run.Finish(s_timeout);

        var none = run.Dragon(null, "ps");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("no run is running on this host", none.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void StatusSocket_LineTooLongOrSilent_IsRefusedAndClosed()
    {
        using var run = new ObservedRun(_dragon, ["--local-nodes", "1"], "observe-sleepers", "1");
        run.WaitUntilReady(s_timeout);
        var socketPath = Assert.Single(Directory.GetFiles(_dragon.RunBase, "status.sock", SearchOption.AllDirectories));

        // 256 bytes and no newline: refused at once, without waiting for more.
        var reply = Ask(socketPath, new string('a', 256) + "x");
        Assert.Contains("refused: no credential line", reply, StringComparison.Ordinal);

        // Nothing at all: closed without an answer once the 5 s deadline passed.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        reply = Ask(socketPath, null);
        Assert.Equal(string.Empty, reply);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(15));

        run.Finish(s_timeout);
    }

    /// <summary>Sends <paramref name="line"/> (if any) to the status socket and reads until it closes.</summary>
    private static string Ask(string socketPath, string? line)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.ReceiveTimeout = 20_000;
        socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
        if (line is not null)
        {
            socket.Send(System.Text.Encoding.ASCII.GetBytes(line));
        }

        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = socket.Receive(buffer)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, read).ToArray());
            }
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            // The server closed with bytes of ours unread; what it sent first was already read.
        }

        return System.Text.Encoding.UTF8.GetString(received.ToArray());
    }

    private static Dictionary<string, string> Environ(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2)).Where(kv => kv.Length == 2).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);

    public void Dispose() => _dragon.Dispose();
}
