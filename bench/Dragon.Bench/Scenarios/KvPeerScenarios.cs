using System.Diagnostics;
using System.Globalization;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// The peers' side of the dictionary benchmark (bench/ddict/ddict.py): <c>Dragon.Bench kv-peer ARGS</c>, run
/// outside the runtime against a Redis or Garnet server on loopback, through StackExchange.Redis. The clients are
/// CLIENTS separate processes (this program again, with <c>--client I</c>), as our clients are, each with its own
/// connection. The server is flushed first; then, per operation, all clients ready, one go, and the time from the first
/// client's start to the last client's end as the clients measured them (as ours are timed): one <see cref="DictBenchArgs.Line"/> per operation (an untimed read pass first, see
/// <see cref="KvPeerClient.Phases(DictBenchArgs)"/>). Frozen get is the peers' plain get (they have no freeze), over the keys mput
/// wrote.
/// </summary>
internal static class KvPeerScenarios
{
    public static int Run(string[] rest)
    {
        DictBenchArgs args;
        try
        {
            args = DictBenchArgs.Parse(rest);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (args.Client >= 0)
        {
            return KvPeerClient.Run(args);
        }

        using (var admin = KvPeerClient.Connect(args.Port))
        {
            admin.GetServer(admin.GetEndPoints()[0]).FlushAllDatabases();
        }

        var clients = new List<Process>();
        try
        {
            for (var i = 0; i < args.Clients; i++)
            {
                clients.Add(StartClient(args, i));
            }

            foreach (var client in clients)
            {
                Expect(client, "ready");
            }

            foreach (var op in KvPeerClient.Phases(args))
            {
                foreach (var client in clients)
                {
                    client.StandardInput.WriteLine("go");
                }

                // From the first client's start to the last one's end, as each measured it (as ours are timed).
                long ops = 0;
                var first = long.MaxValue;
                var last = long.MinValue;
                foreach (var client in clients)
                {
                    var done = Expect(client, "done ")["done ".Length..].Split(' ');
                    ops += long.Parse(done[0], CultureInfo.InvariantCulture);
                    first = Math.Min(first, long.Parse(done[1], CultureInfo.InvariantCulture));
                    last = Math.Max(last, long.Parse(done[2], CultureInfo.InvariantCulture));
                }

                var seconds = (last - first) / (double)Stopwatch.Frequency;
                if (op != KvPeerClient.WarmRead)
                {
                    Console.WriteLine(args.Line(args.System, 1, op, ops, seconds));
                }
            }

            foreach (var client in clients)
            {
                client.StandardInput.Close();
                client.WaitForExit();
            }

            return clients.All(c => c.ExitCode == 0) ? 0 : 1;
        }
        finally
        {
            foreach (var client in clients)
            {
                if (!client.HasExited)
                {
                    client.Kill();
                }

                client.Dispose();
            }

            // The next system's run gets the machine's memory back.
            using var admin = KvPeerClient.Connect(args.Port);
            admin.GetServer(admin.GetEndPoints()[0]).FlushAllDatabases();
        }
    }

    private static Process StartClient(DictBenchArgs args, int client)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Under `dotnet Dragon.Bench.dll` the program is the host's first argument; under an apphost it is the host.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(KvPeerScenarios).Assembly.Location);
        }

        info.ArgumentList.Add("kv-peer");
        foreach (var arg in args.ToArgs(client))
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"kv-peer client {client} did not start");
    }

    /// <summary>The client's next line, which must start with PREFIX; its end or anything else is an error.</summary>
    private static string Expect(Process client, string prefix)
    {
        var line = client.StandardOutput.ReadLine();
        return line is not null && line.StartsWith(prefix, StringComparison.Ordinal)
            ? line
            : throw new InvalidOperationException($"kv-peer client (pid {client.Id}) printed '{line ?? "<end>"}', not '{prefix}...'");
    }
}
