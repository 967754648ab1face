using System.Security.Cryptography;
using Dragon.Runtime;
using Dragon.Services.Node;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dragon.Services.Runtime;

/// <summary>
/// What identifies one run: its id, its secret, its run directory (sockets, logs, the record of started pids that
/// <c>dragon cleanup</c> reads) and its shared-memory prefix.
/// </summary>
internal sealed class RunContext : IDisposable
{
    private readonly StreamWriter _processLog;
    private readonly System.Threading.Lock _processLogLock = new();

    private RunContext(string runId, string secret, string runDir, IOutputSink sink, bool label, ILoggerFactory loggers)
    {
        RunId = runId;
        Secret = secret;
        RunDir = runDir;
        Output = sink;
        Label = label;
        Loggers = loggers;
        _processLog = new StreamWriter(new FileStream(Path.Combine(runDir, RunLayout.ProcessesFile), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public string RunId { get; }

    public string Secret { get; }

    public string RunDir { get; }

    public IOutputSink Output { get; }

    /// <summary>Prefix forwarded output with <c>[puid@node]</c>.</summary>
    public bool Label { get; }

    public ILoggerFactory Loggers { get; }

    public string ShmPrefix => RuntimeEnvironment.ShmPrefix(RunId);

    /// <summary>Forwarded output is always piped here (the node is not where the launcher's terminal is).</summary>
    public bool CaptureInherited { get; set; }

    /// <summary>Creates the run directory (mode 0700) and records the owning launcher for cleanup.</summary>
    public static RunContext Create(IOutputSink sink, bool label, Func<string, ILoggerFactory>? loggers = null, string? baseDir = null) =>
        CreateWith(
            $"{Environment.ProcessId:x}{RandomHex(6)}",
            RandomHex(32),
            null,
            sink,
            label,
            loggers,
            baseDir);

    /// <summary>Random hex digits from the kernel (<see cref="RandomBytes"/>).</summary>
    internal static string RandomHex(int digits) => Convert.ToHexStringLower(RandomBytes((digits + 1) / 2))[..digits];

    /// <summary>
    /// Random bytes from the kernel (getrandom). Not RandomNumberGenerator: on Linux that loads OpenSSL, about a
    /// millisecond of a one-node run's start-up and more of a node service's.
    /// </summary>
    internal static unsafe byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        fixed (byte* buffer = bytes)
        {
            for (var filled = 0; filled < bytes.Length;)
            {
                var got = Spawning.Native.getrandom(buffer + filled, (nuint)(bytes.Length - filled), 0);
                if (got < 0)
                {
                    if (System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Spawning.Native.EINTR)
                    {
                        continue;
                    }

                    return RandomNumberGenerator.GetBytes(count);
                }

                filled += (int)got;
            }
        }

        return bytes;
    }

    /// <summary>The part of a run one node service keeps on its host: a run directory of its own (hosts may share /tmp).</summary>
    public static RunContext CreateForNode(string runId, string secret, int nodeIndex, IOutputSink sink, bool label, Func<string, ILoggerFactory>? loggers) =>
        CreateWith(runId, secret, $"{runId}.n{nodeIndex}", sink, label, loggers, null);

    private static RunContext CreateWith(string runId, string secret, string? dirName, IOutputSink sink, bool label, Func<string, ILoggerFactory>? loggers, string? baseDir)
    {
        var root = baseDir ?? RunLayout.BaseDirectory();
        RunLayout.EnsureBaseDirectory(root);
        var runDir = Path.Combine(root, dirName ?? runId);
        Directory.CreateDirectory(runDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(runDir, RunLayout.OwnerFile), ProcessIdentity.Describe(Environment.ProcessId));
        File.WriteAllText(Path.Combine(runDir, RunLayout.HostFile), RunLayout.ThisHost());
        return new RunContext(runId, secret, runDir, sink, label, loggers?.Invoke(Path.Combine(runDir, "logs")) ?? NullLoggerFactory.Instance);
    }

    /// <summary>Appends a started child to the run's record so a later cleanup can find it if this launcher dies.</summary>
    public void RecordProcess(int pid, long bootTicksBefore, long bootTicksAfter)
    {
        var line = ProcessIdentity.DescribeSpawned(pid, bootTicksBefore, bootTicksAfter);
        lock (_processLogLock)
        {
            _processLog.WriteLine(line);
        }
    }

    /// <summary>Removes the run directory and the run's shared-memory files (only one node's, when given).</summary>
    public void RemoveFiles(int? nodeIndex = null)
    {
        RunLayout.RemoveShm(nodeIndex is { } node ? $"{RunId}-n{node}" : RunId);
        try
        {
            Directory.Delete(RunDir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public void Dispose()
    {
        _processLog.Dispose();
        Loggers.Dispose();
    }
}
