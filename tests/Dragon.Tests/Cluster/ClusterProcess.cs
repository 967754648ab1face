using System.Diagnostics;
using System.Text;

namespace Dragon.Tests.Cluster;

/// <summary>Runs one local command with a deadline and collects its output, for <see cref="FakeCluster"/>.</summary>
internal static class ClusterProcess
{
    // A command may leave a daemon holding its stdout (e.g. `nohup x &` in the head namespace): once the command
    // itself has exited, its output is read for this long at most.
    private static readonly TimeSpan s_drainGrace = TimeSpan.FromSeconds(2);

    public static ClusterCommandResult Run(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in argv.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = System.Diagnostics.Process.Start(info) ?? throw new FakeClusterException($"could not start {argv[0]}");
        // ssh reads stdin until EOF: it must never wait for the test runner's
        process.StandardInput.Close();
        var stdout = new OutputPump(process.StandardOutput);
        var stderr = new OutputPump(process.StandardError);
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // it exited just now
            }

            process.WaitForExit();
            throw new TimeoutException(
                $"'{string.Join(' ', argv)}' did not finish in {timeout.TotalSeconds:F0} s\n--- stdout\n{stdout.Drain(s_drainGrace)}\n--- stderr\n{stderr.Drain(s_drainGrace)}");
        }

        return new ClusterCommandResult(process.ExitCode, stdout.Drain(s_drainGrace), stderr.Drain(s_drainGrace));
    }

    private sealed class OutputPump
    {
        private readonly StringBuilder _text = new();
        private readonly Task _pump;

        public OutputPump(StreamReader reader) => _pump = Task.Run(() => PumpAsync(reader));

        public string Drain(TimeSpan grace)
        {
            _pump.Wait(grace);
            lock (_text)
            {
                return _text.ToString();
            }
        }

        private async Task PumpAsync(StreamReader reader)
        {
            var buffer = new char[4096];
            try
            {
                int count;
                while ((count = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    lock (_text)
                    {
                        _text.Append(buffer, 0, count);
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // the process was disposed while a daemon still held the pipe: keep what was read
            }
        }
    }
}
