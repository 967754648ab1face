using System.Text.Json;

namespace Dragon.TestApp;

/// <summary>
/// <c>contract FAMILY LAYOUT MODE RESULT.json</c>: runs every contract case of one family (queue, pipe or sync) in
/// one layout (one-node, two-nodes) and one mode (sync, async), and writes one typed result. Each case catches its
/// own failure and records it, so one failure does not hide the others; the command itself judges nothing. An
/// optional last argument runs only the case of that name (to chase one failure); the others are then null.
/// </summary>
public static class ContractCommand
{
    public const string Queue = "queue";
    public const string Pipe = "pipe";
    public const string Sync = "sync";

    /// <summary>How long one case may take before it is recorded as failed and the next one starts.</summary>
    private static readonly TimeSpan s_caseLimit = TimeSpan.FromSeconds(120);

    public static async Task<int> Run(string family, string layoutName, string mode, string resultPath, string? only = null)
    {
        var layout = ContractLayout.Parse(layoutName);
        var api = ContractApi.For(mode);
        var cases = new CaseRunner(only);
        Console.WriteLine($"INFO run {ContractLayout.RunId}: {family} contract, {layout.Name} (objects on node {layout.Home}, processes on node {layout.Workers}), {mode}");
        object result = family switch
        {
            Queue => await QueueContract(api, layout, cases),
            Pipe => await PipeContract(api, layout, cases),
            Sync => await SyncContract(api, layout, cases),
            _ => throw new ArgumentException($"unknown family '{family}' (expected {Queue}, {Pipe} or {Sync})", nameof(family)),
        };
        await File.WriteAllTextAsync(resultPath, JsonSerializer.Serialize(result, result.GetType()));
        return 0;
    }

    private static async Task<QueueContractResult> QueueContract(ContractApi api, ContractLayout layout, CaseRunner cases) => new(
        layout.Name,
        api.Mode,
        await cases.Run("order", () => ChannelCases.Order(api, Queue, layout)),
        await cases.Run("sizes", () => ChannelCases.Sizes(api, Queue, layout)),
        await cases.Run("close", () => ChannelCases.Close(api, Queue, layout)),
        await cases.Run("timeouts", () => ChannelCases.Timeouts(api, Queue, layout)),
        await cases.Run("bad-input", () => QueueCases.BadInput(api, layout)),
        await cases.Run("many", () => QueueCases.Many(api, layout)),
        await cases.Run("killed-in-get", () => QueueCases.KilledInGet(api, layout)),
        await cases.Run("killed-in-put", () => QueueCases.KilledInPut(api, layout)),
        await cases.Run("cancelled-get", () => QueueCases.CancelledGet(api, layout)),
        cases.Failures);

    private static async Task<PipeContractResult> PipeContract(ContractApi api, ContractLayout layout, CaseRunner cases) => new(
        layout.Name,
        api.Mode,
        await cases.Run("order", () => ChannelCases.Order(api, Pipe, layout)),
        await cases.Run("sizes", () => ChannelCases.Sizes(api, Pipe, layout)),
        await cases.Run("close", () => ChannelCases.Close(api, Pipe, layout)),
        await cases.Run("timeouts", () => ChannelCases.Timeouts(api, Pipe, layout)),
        await cases.Run("poll", () => PipeCases.Poll(api, layout)),
        await cases.Run("bad-input", () => PipeCases.BadInput(api, layout)),
        await cases.Run("cancelled-receive", () => PipeCases.CancelledReceive(api, layout)),
        cases.Failures);

    private static async Task<SyncContractResult> SyncContract(ContractApi api, ContractLayout layout, CaseRunner cases)
    {
        return new(
            layout.Name,
            api.Mode,
            await cases.Run("event", () => EventCases.SetClearWait(api, layout)),
            await cases.Run("lock-counter", () => LockCases.Counter(api, layout)),
            await cases.Run("lock-timeout", () => LockCases.Timeout(api, layout)),
            await cases.Run("lock-holder-killed", () => LockCases.HolderKilled(api, layout)),
            await cases.Run("semaphore", () => SemaphoreCases.Bound(api, layout)),
            await cases.Run("barrier", () => BarrierCases.RoundsTimeoutAbortReset(api, layout)),
            await cases.Run("cancelled-event-wait", () => EventCases.CancelledWait(api, layout)),
            await cases.Run("cancelled-lock-acquire", () => LockCases.CancelledAcquire(api, layout)),
            await cases.Run("cancelled-semaphore-acquire", () => SemaphoreCases.CancelledAcquire(api, layout)),
            cases.Failures);
    }

    /// <summary>Runs cases one at a time, each on the thread pool with a time limit, recording the ones that fail.</summary>
    private sealed class CaseRunner(string? only)
    {
        private readonly List<CaseFailure> _failures = [];

        public CaseFailure[] Failures => [.. _failures];

        public async Task<T?> Run<T>(string name, Func<Task<T>> run)
            where T : class
        {
            if (only is not null && only != name)
            {
                return null;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                // On the pool: a blocking (sync mode) case that hangs is left behind when its time is up.
                var result = await Task.Run(run).WaitAsync(s_caseLimit);
                Console.WriteLine($"INFO case {name}: {clock.Elapsed.TotalSeconds:F1} s");
                return result;
            }
            catch (Exception e)
            {
                Console.WriteLine($"INFO case {name} failed after {clock.Elapsed.TotalSeconds:F1} s: {e}");
                _failures.Add(new CaseFailure(name, e.GetType().Name, e.ToString()));
                return null;
            }
        }
    }
}
