using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Dragon.Services.Pmi;
using Xunit;

namespace Dragon.Tests.Pmi;

// Dragon.Process (the runtime's own type) would win over the using above.
using Process = System.Diagnostics.Process;

/// <summary>The MPI test programs, compiled with mpicc.mpich into artifacts/mpi when missing or stale.</summary>
[SupportedOSPlatform("linux")]
internal static class MpiPrograms
{
    private static readonly Lazy<string> s_mpiTest = new(() => Build("tests/mpi/mpitest.c", "mpitest"));

    public static string MpiTest => s_mpiTest.Value;

    private static string Build(string source, string name)
    {
        string root = RepositoryRoot();
        string sourcePath = Path.Combine(root, source);
        string output = Path.Combine(root, "artifacts", "mpi", name);
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(sourcePath))
        {
            return output;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        var compile = new ProcessStartInfo("mpicc.mpich") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[] { "-O2", "-o", output, sourcePath })
        {
            compile.ArgumentList.Add(argument);
        }
        using var compiler = Process.Start(compile)!;
        string errors = compiler.StandardError.ReadToEnd();
        compiler.WaitForExit();
        Assert.True(compiler.ExitCode == 0, $"mpicc.mpich {source} failed: {errors}");
        return output;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dragon.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Dragon.slnx above {AppContext.BaseDirectory}");
    }
}

/// <summary>One MPICH rank started with its job's PMI environment and its end of the PMI socketpair, output captured.</summary>
[SupportedOSPlatform("linux")]
internal sealed partial class RankProcess
{
    private const int F_SETFD = 2;

    // Process.Start cannot place a descriptor at a number, so the rank's end is made inheritable for the one
    // start and passed at whatever number it has. The runtime's spawner dup2s it in the child instead, so its
    // other children never see it.
    private static readonly System.Threading.Lock s_inheritable = new();

    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private RankProcess(PmiJob job, int rank, Process process)
    {
        Job = job;
        Rank = rank;
        Process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public PmiJob Job { get; }

    public int Rank { get; }

    public Process Process { get; }

    public string Stdout => _stdout.IsCompleted ? _stdout.Result : "(still running)";

    public string Stderr => _stderr.IsCompleted ? _stderr.Result : "(still running)";

    public static RankProcess Start(PmiJob job, int rank, string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (string name in start.Environment.Keys.Where(PmiEnvironment.IsInherited).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in job.EnvironmentFor(rank))
        {
            start.Environment[name] = value;
        }
        using var rankEnd = job.OpenRank(rank);
        int fd = (int)rankEnd.DangerousGetHandle();
        start.Environment[PmiEnvironment.Fd] = fd.ToString(CultureInfo.InvariantCulture);
        lock (s_inheritable)
        {
            Assert.Equal(0, fcntl(fd, F_SETFD, 0));
            return new RankProcess(job, rank, Process.Start(start)!);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cancellation.Token);
            await Task.WhenAll(_stdout, _stderr).WaitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"rank {Rank} of {Job.KvsName} did not exit within {timeout}");
        }
        return Process.ExitCode;
    }

    public void Kill()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }
        Process.WaitForExit(5000);
    }
}

/// <summary>Records a job's rank events for assertions.</summary>
[SupportedOSPlatform("linux")]
internal sealed class RankEventLog
{
    private readonly List<PmiRankEvent> _events = [];

    public RankEventLog(PmiJob job) => job.RankEvent += e =>
    {
        lock (_events)
        {
            _events.Add(e);
        }
    };

    public PmiRankEventKind[] KindsOf(int rank)
    {
        lock (_events)
        {
            return [.. _events.Where(e => e.Rank == rank).Select(e => e.Kind)];
        }
    }

    public async Task<PmiRankEvent> WaitForAsync(Func<PmiRankEvent, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            lock (_events)
            {
                foreach (var e in _events)
                {
                    if (match(e))
                    {
                        return e;
                    }
                }
            }
            await Task.Delay(10);
        }
        lock (_events)
        {
            Assert.Fail($"no matching rank event within {timeout}; saw: {string.Join("; ", _events)}");
        }
        return default;
    }
}

/// <summary>A hand-driven PMI client over a rank's end of its PMI socketpair.</summary>
[SupportedOSPlatform("linux")]
internal sealed class RawPmiClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RawPmiClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.ASCII);
    }

    /// <summary>Speaks as <paramref name="rank"/> of <paramref name="job"/> over the end a spawned rank would inherit.</summary>
    public static RawPmiClient Open(PmiJob job, int rank) => new(new Socket(job.OpenRank(rank)));

    public async Task SendAsync(string text) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        return await _reader.ReadLineAsync(cancellation.Token);
    }

    public async Task<string?> RequestAsync(string line)
    {
        await SendAsync(line + "\n");
        return await ReadLineAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>True when the server closed (or reset) the connection within the timeout.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        try
        {
            while (await ReadLineAsync(timeout) is not null)
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _socket.Dispose();
    }
}
