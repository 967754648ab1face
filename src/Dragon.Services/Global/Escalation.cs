using Dragon.Services.Spawning;

namespace Dragon.Services.Global;

/// <summary>Stopping processes politely, then firmly: SIGINT, SIGTERM, then SIGKILL, a patience apart.</summary>
internal static class Escalation
{
    public static async Task StopAsync(IReadOnlyList<ProcessRecord> records, GlobalServices global, TimeSpan patience, string reason)
    {
        foreach (var record in records)
        {
            record.StopReason ??= reason;
        }

        foreach (var signal in new[] { Signals.SIGINT, Signals.SIGTERM, Signals.SIGKILL })
        {
            var alive = records.Where(r => !r.HasExited).ToArray();
            if (alive.Length == 0)
            {
                return;
            }

            foreach (var record in alive)
            {
                global.Nodes[record.NodeIndex].Signal(record.Puid, signal);
            }

            var all = Task.WhenAll(alive.Select(r => r.Exit));
            await Task.WhenAny(all, Task.Delay(signal == Signals.SIGKILL ? TimeSpan.FromSeconds(10) : patience)).ConfigureAwait(false);
        }
    }
}
