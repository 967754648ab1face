using System.Runtime.ExceptionServices;
using System.Text.Json;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Contract;

/// <summary>
/// One <c>dragon</c> run of the contract command per test class (xunit makes one fixture per class): the first
/// fact to ask runs it, the others read the same typed result. The run must exit 0 and leave nothing behind (no
/// process, run directory or /dev/shm file), checked by <see cref="DragonRun"/> right after it and again on Dispose.
/// </summary>
public sealed class ContractRunFixture : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(600);
    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };
    private readonly DragonRun _dragon = new();
    private readonly Lock _lock = new();
    private object? _result;
    private ExceptionDispatchInfo? _failure;

    /// <summary>How long the run took (zero before it ran).</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>The run's lines saying how long each case took (or how it failed).</summary>
    public IReadOnlyList<string> CaseLines { get; private set; } = [];

    /// <summary>The result of <c>contract FAMILY LAYOUT MODE</c>, run on the first call.</summary>
    public TResult Result<TResult>(string family, string layout, string mode)
        where TResult : class
    {
        lock (_lock)
        {
            _failure?.Throw();
            if (_result is TResult done)
            {
                return done;
            }

            // Outside the run base, which must be empty after the run.
            var path = Path.Combine(Path.GetTempPath(), $"dragon-contract-{Guid.NewGuid():N}.json");
            try
            {
                var nodes = layout == ContractArgs.TwoNodes ? "2" : "1";
                var run = _dragon.RunScenario(s_timeout, "--local-nodes", nodes, Repo.TestApp, "contract", family, layout, mode, path);
                Elapsed = run.Elapsed;
                CaseLines = run.Lines.Where(l => l.StartsWith("INFO case", StringComparison.Ordinal)).ToArray();
                var result = JsonSerializer.Deserialize<TResult>(File.ReadAllText(path), s_json)
                    ?? throw new InvalidOperationException($"the contract run wrote no result to {path}");
                _result = result;
                return result;
            }
            catch (Exception e)
            {
                _failure = ExceptionDispatchInfo.Capture(e);
                throw;
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            _dragon.AssertNothingLeft();
        }
        finally
        {
            _dragon.Dispose();
        }
    }
}

/// <summary>The contract command's arguments: families, layouts, modes.</summary>
public static class ContractArgs
{
    public const string QueueFamily = "queue";
    public const string PipeFamily = "pipe";
    public const string SyncFamily = "sync";
    public const string OneNode = "one-node";
    public const string TwoNodes = "two-nodes";
    public const string SyncMode = "sync";
    public const string AsyncMode = "async";
}
