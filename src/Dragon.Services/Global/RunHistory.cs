using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dragon.Services.Global;

/// <summary>How a process ended, as the run report colours it.</summary>
internal enum ExitKind : byte
{
    Running = 0,
    Ok = 1,
    Failed = 2,
    Killed = 3,
    Lost = 4,
}

/// <summary>
/// One process as the report draws it; times are milliseconds since the run's history began (an int: 24 days), to
/// keep an entry at 64 bytes, since every process of the run has one. <see cref="Puid"/> 0 marks an empty slot.
/// </summary>
internal record struct ProcessEntry(ulong Puid, int Node, string Name, ulong Group, int Rank, int StartMs, int EndMs, int ExitCode, int Signal, string? Reason, ExitKind Kind);

/// <summary>One process group (an MPI job when <see cref="Mpi"/>): its size, when it was made, its last known state.</summary>
internal record struct GroupEntry(ulong Id, bool Mpi, int Size, long CreatedMs, string State, string? Failure);

/// <summary>
/// What the run report is made of, kept by global services for the whole run: every process (node, name, group and
/// rank, start, end, how it ended), every group, metric samples over time (<c>RunHistory.Samples.cs</c>), and the
/// last lines of stderr of processes that failed. Processes sit in slots by puid (puids are handed out in order from
/// the first one), in chunks of <see cref="ChunkSize"/>: no index beside them and no list that doubles, about 64
/// bytes a process. Bounded: the first <see cref="MaxProcesses"/> puids and <see cref="MaxGroups"/> groups are kept
/// (later ones are only counted), and stderr tails of at most
/// <see cref="MaxTails"/> processes at once, <see cref="TailLines"/> lines of at most <see cref="MaxLineChars"/>
/// characters each (about 12 MB at worst); a process that exits cleanly lets its tail go. One lock guards it all:
/// it is taken once per start, exit and forwarded stderr line, next to a spawn or a pipe read that cost far more.
/// </summary>
internal sealed partial class RunHistory : IDisposable
{
    public const int MaxProcesses = 100_000;
    public const int ChunkSize = 4096;
    public const int MaxGroups = 10_000;
    public const int MaxTails = 1024;
    public const int TailLines = 20;
    public const int MaxLineChars = 300;

    private readonly System.Threading.Lock _lock = new();
    private readonly long _origin = Stopwatch.GetTimestamp();
    private readonly ulong _firstPuid;
    private readonly List<ProcessEntry[]> _chunks = [];
    private readonly List<GroupEntry> _groups = [];
    private readonly Dictionary<ulong, int> _groupIndex = [];
    private readonly Dictionary<ulong, Queue<string>> _tails = [];
    private long _started;
    private long _exited;
    private long _failed;
    private int _processesNotKept;

    /// <summary>A history whose processes have puids from <paramref name="firstPuid"/> on (global services start at 2^32).</summary>
    public RunHistory(ulong firstPuid = 1)
    {
        _firstPuid = firstPuid;
    }
    private int _groupsNotKept;
    private int _tailsNotKept;

    /// <summary>When the history began (the run's start), in UTC.</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>The command line that started the run, for the report's summary.</summary>
    public string Command { get; set; } = string.Empty;

    /// <summary>
    /// True when forwarded stderr passes through the launcher and feeds <see cref="OnStderr"/> (<c>--report</c>);
    /// otherwise a report says that no stderr was kept.
    /// </summary>
    public bool KeepsStderr { get; set; }

    /// <summary>Milliseconds since the history began.</summary>
    public int Now => (int)Math.Min(Stopwatch.GetElapsedTime(_origin).TotalMilliseconds, int.MaxValue);

    public void OnStarted(ulong puid, int node, string name, ulong group, int rank)
    {
        var now = Now;
        lock (_lock)
        {
            _started++;
            if (puid < _firstPuid || puid - _firstPuid >= MaxProcesses)
            {
                _processesNotKept++;
                return;
            }

            var slot = (int)(puid - _firstPuid);
            while (_chunks.Count <= slot / ChunkSize)
            {
                _chunks.Add(new ProcessEntry[ChunkSize]);
            }

            _chunks[slot / ChunkSize][slot % ChunkSize] = new ProcessEntry(puid, node, name, group, rank, now, -1, 0, 0, null, ExitKind.Running);
        }
    }

    public void OnExited(ulong puid, int exitCode, int signal, string reason, ExitKind kind)
    {
        var now = Now;
        lock (_lock)
        {
            _exited++;
            if (kind is ExitKind.Failed or ExitKind.Lost)
            {
                _failed++;
            }

            ref var entry = ref Slot(puid);
            if (entry.Puid == puid)
            {
                entry = entry with { EndMs = now, ExitCode = exitCode, Signal = signal, Reason = reason, Kind = kind };
            }

            // Only the tails of processes that did not end well are worth their memory.
            if (kind == ExitKind.Ok)
            {
                _tails.Remove(puid);
            }
        }
    }

    public void OnGroupCreated(ulong id, bool mpi, int size)
    {
        var now = Now;
        lock (_lock)
        {
            if (_groups.Count >= MaxGroups)
            {
                _groupsNotKept++;
                return;
            }

            _groupIndex[id] = _groups.Count;
            _groups.Add(new GroupEntry(id, mpi, size, now, "pending", null));
        }
    }

    /// <summary>A group's state as last seen (sampled while it lives, and once more when it is closed).</summary>
    public void OnGroupState(ulong id, string state, string? failure)
    {
        lock (_lock)
        {
            if (_groupIndex.TryGetValue(id, out var i))
            {
                ref var entry = ref CollectionsMarshal.AsSpan(_groups)[i];
                entry = entry with { State = state, Failure = failure ?? entry.Failure };
            }
        }
    }

    /// <summary>
    /// Forwarded stderr of a process: one line, or several joined by newlines (a batch from another node). Keeps the
    /// last <see cref="TailLines"/>, unless the process already exited cleanly.
    /// </summary>
    public void OnStderr(ulong puid, ReadOnlySpan<byte> lines)
    {
        lock (_lock)
        {
            if (!_tails.TryGetValue(puid, out var tail))
            {
                if (Slot(puid) is { Kind: ExitKind.Ok } entry && entry.Puid == puid)
                {
                    return;
                }

                if (_tails.Count >= MaxTails)
                {
                    _tailsNotKept++;
                    return;
                }

                tail = new Queue<string>(TailLines);
                _tails[puid] = tail;
            }

            foreach (var range in lines.Split((byte)'\n'))
            {
                var line = lines[range];
                if (tail.Count == TailLines)
                {
                    tail.Dequeue();
                }

                tail.Enqueue(Decode(line));
            }
        }
    }

    /// <summary>Under the lock: the slot of a puid, or a throwaway empty entry when it has none.</summary>
    private ref ProcessEntry Slot(ulong puid)
    {
        var slot = puid - _firstPuid;
        if (puid >= _firstPuid && slot < (ulong)_chunks.Count * ChunkSize)
        {
            return ref _chunks[(int)(slot / ChunkSize)][(int)(slot % ChunkSize)];
        }

        _none = default;
        return ref _none;
    }

    private ProcessEntry _none;

    /// <summary>A line as text, cut to <see cref="MaxLineChars"/> characters (an ellipsis marks the cut).</summary>
    private static string Decode(ReadOnlySpan<byte> line)
    {
        // UTF-8 takes at most 4 bytes a character: decoding a bounded prefix bounds the work on a huge line.
        var text = Encoding.UTF8.GetString(line[..Math.Min(line.Length, MaxLineChars * 4)]).TrimEnd('\r');
        return text.Length > MaxLineChars ? string.Concat(text.AsSpan(0, MaxLineChars - 1), "…") : text;
    }

    /// <summary>A consistent copy of everything, for a report.</summary>
    public HistorySnapshot Snapshot()
    {
        lock (_lock)
        {
            return new HistorySnapshot(
                StartedAt,
                Now,
                Command,
                KeepsStderr,
                [.. _chunks.SelectMany(c => c).Where(e => e.Puid != 0)],
                [.. _groups],
                _tails.ToDictionary(t => t.Key, t => t.Value.ToArray()),
                [.. _samples],
                _sampleIntervalMs,
                new HistoryCounts(_started, _exited, _failed, _processesNotKept, _groupsNotKept, _tailsNotKept, _samplesDropped));
        }
    }

    public void Dispose() => StopSampling();
}

/// <summary>Totals, and what the caps left out (<see cref="TailsNotKept"/> counts stderr lines, not processes).</summary>
internal sealed record HistoryCounts(long Started, long Exited, long Failed, int ProcessesNotKept, int GroupsNotKept, int TailsNotKept, long SamplesDropped);

/// <summary>A copy of a <see cref="RunHistory"/> at one moment; <see cref="NowMs"/> is when it was taken.</summary>
internal sealed record HistorySnapshot(
    DateTimeOffset StartedAt,
    int NowMs,
    string Command,
    bool KeepsStderr,
    ProcessEntry[] Processes,
    GroupEntry[] Groups,
    Dictionary<ulong, string[]> StderrTails,
    HistorySample[] Samples,
    long SampleIntervalMs,
    HistoryCounts Counts);
