using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dragon.Runtime;
using Dragon.Services.Global;
using Dragon.Services.Runtime;

namespace Dragon.Launcher.Status;

/// <summary>
/// <c>dragon ps [--json] [RUN]</c>: asks a running run's launcher (through its <see cref="StatusServer"/> socket) for
/// its nodes, groups and processes. The run is found in the user's run base on this host, as <c>dragon cleanup</c>
/// finds runs; the credential is <c>DRAGON_SECRET</c> when set (inside a process of the run), else the run's
/// status token.
/// </summary>
internal static class Ps
{
    public const string Command = "ps";

    public static int Run(IReadOnlyList<string> args)
    {
        var json = false;
        string? runId = null;
        foreach (var arg in args)
        {
            switch (arg)
            {
                case "--json":
                    json = true;
                    break;
                case var _ when arg.StartsWith('-'):
                    throw new UsageException($"unknown ps option '{arg}'");
                case var _ when runId is null:
                    runId = arg;
                    break;
                default:
                    throw new UsageException($"ps takes one run id, not '{runId}' and '{arg}'");
            }
        }

        string runDir;
        byte[] reply;
        try
        {
            runDir = FindRun(runId);
            reply = Ask(runDir, Credential(runDir));
        }
        catch (PsException e)
        {
            Console.Error.WriteLine($"dragon ps: {e.Message}");
            return 1;
        }

        using var document = JsonDocument.Parse(reply);
        if (document.RootElement.TryGetProperty(RunStatus.Fields.Error, out var error))
        {
            Console.Error.WriteLine($"dragon ps: run {Path.GetFileName(runDir)}: {error.GetString()}");
            return 1;
        }

        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(reply);
            stdout.Write("\n"u8);
        }
        else
        {
            Console.Write(PsTable.Format(document.RootElement));
        }

        return 0;
    }

    /// <summary>The run directory: the one named, the caller's own run, or the only run live on this host.</summary>
    internal static string FindRun(string? runId)
    {
        var root = RunLayout.BaseDirectory();
        if (!RunLayout.Exists(root))
        {
            throw new PsException($"no run is running on this host (no run directory base {root})");
        }

        RunLayout.CheckBaseDirectory(root);
        var live = LiveRuns(root).ToArray();
        if (runId is not null)
        {
            return live.FirstOrDefault(d => Path.GetFileName(d) == runId)
                ?? throw new PsException($"no run {runId} is running on this host (runs: {Names(live)})");
        }

        if (Environment.GetEnvironmentVariable(RuntimeEnvironment.RunId) is { Length: > 0 } own && live.FirstOrDefault(d => Path.GetFileName(d) == own) is { } mine)
        {
            return mine;
        }

        return live.Length switch
        {
            0 => throw new PsException($"no run is running on this host (looked in {root})"),
            1 => live[0],
            _ => throw new PsException($"{live.Length} runs are running on this host ({Names(live)}); name one: dragon ps RUN"),
        };
    }

    private static string Names(string[] runDirs) => runDirs.Length == 0 ? "none" : string.Join(", ", runDirs.Select(Path.GetFileName));

    /// <summary>Launcher run directories of this host whose launcher is alive and serves status.</summary>
    private static IEnumerable<string> LiveRuns(string root)
    {
        var thisHost = RunLayout.ThisHost();
        foreach (var runDir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            // "RUN.nK" holds one node service's files; only the launcher's "RUN" has the status socket.
            if (Path.GetFileName(runDir).Contains('.', StringComparison.Ordinal) || !File.Exists(Path.Combine(runDir, RunLayout.StatusSocket)))
            {
                continue;
            }

            var host = ReadQuietly(Path.Combine(runDir, RunLayout.HostFile));
            var owner = ReadQuietly(Path.Combine(runDir, RunLayout.OwnerFile));
            if (host == thisHost && owner is not null && ProcessIdentity.IsAlive(owner, out _))
            {
                yield return runDir;
            }
        }
    }

    internal static byte[] Credential(string runDir)
    {
        if (Environment.GetEnvironmentVariable(RuntimeEnvironment.Secret) is { Length: > 0 } secret)
        {
            return Encoding.UTF8.GetBytes(secret);
        }

        var token = Path.Combine(runDir, RunLayout.StatusTokenFile);
        try
        {
            return File.ReadAllBytes(token);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PsException($"cannot read the run's status token {token} ({e.Message}); set DRAGON_SECRET to the run's secret instead");
        }
    }

    internal static byte[] Ask(string runDir, byte[] credential)
    {
        var path = Path.Combine(runDir, RunLayout.StatusSocket);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.ReceiveTimeout = 10_000;
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send([.. credential, (byte)'\n']);
            using var reply = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = socket.Receive(buffer)) > 0)
            {
                reply.Write(buffer, 0, read);
            }

            return reply.Length > 0
                ? reply.ToArray()
                : throw new PsException($"run {Path.GetFileName(runDir)} closed {path} without an answer (it is ending?)");
        }
        catch (SocketException e)
        {
            throw new PsException($"cannot ask run {Path.GetFileName(runDir)} at {path}: {e.Message}");
        }
    }

    private static string? ReadQuietly(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal sealed class PsException(string message) : Exception(message);
}
