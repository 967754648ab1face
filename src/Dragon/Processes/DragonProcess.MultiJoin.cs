using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>Outcome of <see cref="DragonProcess.MultiJoin"/>: who exited (with codes) and who is still running.</summary>
/// <param name="Exited">Processes that exited, with their exit codes.</param>
/// <param name="Running">Processes still running when the call returned.</param>
public sealed record MultiJoinResult(IReadOnlyList<(ulong Puid, int ExitCode)> Exited, IReadOnlyList<ulong> Running)
{
    /// <summary>True when every process asked about has exited.</summary>
    public bool AllExited => Running.Count == 0;
}

public sealed partial class DragonProcess
{
    /// <summary>
    /// Waits on several processes at once: until any of them exits (<paramref name="joinAll"/> false), or all
    /// (true), or the timeout passes. Like Dragon's <c>multi_join</c>.
    /// </summary>
    /// <exception cref="ProcessNotFoundException">A puid is not a process of this run.</exception>
    public static MultiJoinResult MultiJoin(IEnumerable<ulong> puids, bool joinAll = false, TimeSpan? timeout = null) =>
        MultiJoinAsync(puids, joinAll, timeout).GetAwaiter().GetResult();

    /// <inheritdoc cref="MultiJoin"/>
    public static async Task<MultiJoinResult> MultiJoinAsync(
        IEnumerable<ulong> puids, bool joinAll = false, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(puids);
        var ids = puids.Distinct().ToArray();
        if (ids.Length == 0)
        {
            return new MultiJoinResult([], []);
        }

        var reply = await RuntimeClient.Current
            .RequestAsync<JoinReply>(new JoinRequest(ids, joinAll, Timeouts.ToMilliseconds(timeout)), cancellationToken)
            .ConfigureAwait(false);
        return new MultiJoinResult(
            reply.Statuses.Where(s => s.State == ProcessState.Exited).Select(s => (s.Puid, s.ExitCode)).ToArray(),
            reply.Statuses.Where(s => s.State != ProcessState.Exited).Select(s => s.Puid).ToArray());
    }
}
