using System.Diagnostics;

namespace Dragon.Services.Diagnostics;

/// <summary>
/// Traces of the run through <see cref="Activity"/>: one span per process start (from the start request reaching
/// global services to the process spawned on its node) and one per process group (from its start until its last
/// member exited), the group's starts as its children. Nothing is built while no listener is attached:
/// <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> returns null then. <c>dragon --otlp-endpoint</c>
/// exports them.
/// </summary>
internal static class DragonActivities
{
    /// <summary>The source name an exporter subscribes to.</summary>
    public const string Name = "Dragon";

    public const string ProcessStart = "dragon.process.start";
    public const string Group = "dragon.group";

    public static readonly ActivitySource Source = new(Name, typeof(DragonActivities).Assembly.GetName().Version?.ToString(3));

    /// <summary>A process start's span, or null when nobody listens.</summary>
    public static Activity? StartProcess(ulong puid, int node, string name, ulong groupId, Activity? group)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = group is null
            ? Source.StartActivity(ProcessStart, ActivityKind.Internal)
            : Source.StartActivity(ProcessStart, ActivityKind.Internal, group.Context);
        activity?.SetTag("dragon.puid", puid)
            .SetTag(DragonMeter.NodeIndex, node)
            .SetTag("dragon.process.name", name)
            .SetTag("dragon.group.id", groupId);
        return activity;
    }

    /// <summary>A group's span, or null when nobody listens; stopped by <see cref="EndGroup"/>.</summary>
    public static Activity? StartGroup(ulong groupId, int members, bool mpi)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        // A group lives beyond the request that started it: its span has no parent of its own.
        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            return Source.StartActivity(Group, ActivityKind.Internal)?
                .SetTag("dragon.group.id", groupId)
                .SetTag("dragon.group.members", members)
                .SetTag("dragon.group.mpi", mpi);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    public static void EndGroup(Activity? group, string? failure)
    {
        if (group is null)
        {
            return;
        }

        if (failure is not null)
        {
            group.SetStatus(ActivityStatusCode.Error, failure);
        }

        group.Stop();
    }
}
