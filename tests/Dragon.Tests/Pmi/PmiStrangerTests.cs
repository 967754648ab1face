using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dragon.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Pmi;

/// <summary>
/// A stranger on the host against a live 2-rank MPI job: it finds every socket the run listens on the way an
/// attacker would (/proc/net of the run's processes), speaks PMI to each, and must get no PMI answer, while the
/// job completes normally. The ranks reach their server only through inherited socketpairs.
/// </summary>
public sealed class PmiStrangerTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    // What a stranger would try: claim rank 0 or 1 (the old PORT-mode handshake), ask for the KVS name, abort the job.
    private static readonly string[] s_hostileLines =
    [
        "cmd=initack pmiid=0",
        "cmd=initack pmiid=1",
        "cmd=init pmi_version=1 pmi_subversion=1",
        "cmd=get_my_kvsname",
        "cmd=abort exitcode=9",
    ];

    private readonly DragonRun _dragon = new();
    private readonly ITestOutputHelper _output;

    public PmiStrangerTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData("in-process")]
    [InlineData("fork")]
    public async Task Stranger_SpeaksPmiToEveryListeningSocket_IsRefusedAndTheJobCompletes(string mode)
    {
        string[] nodes = mode == "fork" ? ["--wlm", "fork", "--local-nodes", "2"] : ["--local-nodes", "1"];
        using var dragon = _dragon.StartDragon([.. nodes, "-n", "2", Repo.MpiProgram("mpitest"), "sleep", "6"]);
        var stdout = new StringBuilder();
        var initialized = new CountdownEvent(2);
        dragon.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }

            if (e.Data.Contains("initialized rank=", StringComparison.Ordinal) && initialized.CurrentCount > 0)
            {
                initialized.Signal();
            }
        };
        var stderr = dragon.StandardError.ReadToEndAsync();
        dragon.BeginOutputReadLine();
        Assert.True(initialized.Wait(s_timeout), $"the ranks did not reach MPI_Init\n{stdout}");

        var tree = ProcessTree(dragon.Id);
        var ranks = tree.Where(p => Executable(p) == Repo.MpiProgram("mpitest")).ToArray();
        Assert.Equal(2, ranks.Length);
        foreach (var rank in ranks)
        {
            var environment = File.ReadAllText($"/proc/{rank}/environ").Split('\0');
            Assert.Contains("PMI_FD=3", environment);
            Assert.DoesNotContain(environment, v => v.StartsWith("PMI_PORT=", StringComparison.Ordinal) || v.StartsWith("PMI_ID=", StringComparison.Ordinal));
            Assert.StartsWith("socket:", new FileInfo($"/proc/{rank}/fd/3").LinkTarget, StringComparison.Ordinal);
        }

        var services = tree.Except(ranks).ToArray();
        var (tcp, unix) = ListeningSockets(services);
        Assert.NotEmpty(tcp); // the links between nodes (and to the launcher) listen
        Assert.All(tcp, endpoint => Assert.True(IPAddress.IsLoopback(endpoint.Address), $"the run listens beyond loopback on {endpoint}"));
        foreach (var endpoint in tcp)
        {
            var answer = await ProbeAsync(new IPEndPoint(IPAddress.Loopback, endpoint.Port));
            _output.WriteLine($"{endpoint}: {Printable(answer)}");
            Assert.DoesNotContain("cmd=", answer, StringComparison.Ordinal);
        }

        foreach (var path in unix)
        {
            var answer = await ProbeAsync(new UnixDomainSocketEndPoint(path));
            _output.WriteLine($"{path}: {Printable(answer)}");
            Assert.DoesNotContain("cmd=", answer, StringComparison.Ordinal);
        }

        Assert.True(dragon.WaitForExit(s_timeout), "the job did not finish");
        dragon.WaitForExit();
        var result = $"exit {dragon.ExitCode}\n{stdout}\n--- stderr\n{await stderr}";
        Assert.True(dragon.ExitCode == 0, result);
        Assert.Contains("initialized rank=0", result, StringComparison.Ordinal);
        Assert.Contains("initialized rank=1", result, StringComparison.Ordinal);
        Assert.DoesNotContain("abort", result, StringComparison.OrdinalIgnoreCase);
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();

    /// <summary>Connects, sends the hostile lines and returns whatever came back within a second of quiet.</summary>
    private static async Task<string> ProbeAsync(EndPoint endpoint)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, endpoint is IPEndPoint ? ProtocolType.Tcp : ProtocolType.Unspecified);
        await socket.ConnectAsync(endpoint);
        var received = new List<byte>();
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(string.Join('\n', s_hostileLines) + "\n"));
            var buffer = new byte[4096];
            while (true)
            {
                using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Reset or silent: either way no PMI answer.
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>The TCP endpoints and Unix socket paths the given processes listen on, read as any user of the host can.</summary>
    private static (IPEndPoint[] Tcp, string[] Unix) ListeningSockets(IEnumerable<int> pids)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pid in pids)
        {
            foreach (var fd in Directory.EnumerateFiles($"/proc/{pid}/fd"))
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target[8..^1]);
                }
            }
        }

        var tcp = new List<IPEndPoint>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] == "0A" && inodes.Contains(fields[9]))
                {
                    tcp.Add(ParseProcAddress(fields[1]));
                }
            }
        }

        var unix = new List<string>();
        foreach (var line in File.ReadLines("/proc/net/unix").Skip(1))
        {
            // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 marks a listening socket.
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 8 && inodes.Contains(fields[6]) && (int.Parse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture) & 0x10000) != 0 && fields[7].StartsWith('/'))
            {
                unix.Add(fields[7]);
            }
        }

        return (tcp.ToArray(), unix.ToArray());
    }

    private static IPEndPoint ParseProcAddress(string text)
    {
        var (address, port) = (text.Split(':')[0], int.Parse(text.Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        var bytes = Convert.FromHexString(address);
        // /proc prints each 32-bit word of the address in host (little-endian) order.
        for (var word = 0; word < bytes.Length; word += 4)
        {
            Array.Reverse(bytes, word, 4);
        }

        return new IPEndPoint(new IPAddress(bytes), port);
    }

    private static int[] ProcessTree(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid))
            {
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    parents[pid] = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                }
                catch (IOException)
                {
                }
            }
        }

        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            tree.AddRange(parents.Where(p => p.Value == tree[i]).Select(p => p.Key));
        }

        return tree.ToArray();
    }

    private static string? Executable(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/exe").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Printable(string text) =>
        text.Length == 0 ? "(nothing)" : string.Concat(text.Take(80).Select(c => c is >= ' ' and < '\x7f' ? c.ToString() : $"\\x{(int)c:X2}"));
}
