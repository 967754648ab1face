using System.Text.Json;
using System.Text.Json.Serialization;
using Dragon.Channels;
using Dragon.Dictionary.Internal;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Dragon.Runtime.Serialization;

namespace Dragon;

// Creation (managers placed over the nodes, a restore from persisted checkpoints) and moving between processes.
public sealed partial class DragonDictionary<TKey, TValue>
{
    private static (DictClient Client, long Checkpoint) Create(DragonDictionaryOptions options)
    {
        var nodes = Validate(options);
        var name = string.IsNullOrEmpty(options.Name) ? $"dict-{Guid.NewGuid():n}"[..17] : options.Name;
        var count = nodes.Count * options.ManagersPerNode;
        var maxKeys = options.MaxKeysPerManager ?? Math.Max(1024, options.MemoryPerManager / 256);
        var handles = new HostedHandle[count];
        try
        {
            // Round-robin over the nodes: manager m on nodes[m % n], so a few managers still spread out.
            for (var m = 0; m < count; m++)
            {
                handles[m] = HostedHandle.Create(
                    ObjectKind.DictionaryShard, ManagerName(name, m), nodes[m % nodes.Count],
                    capacity: options.MemoryPerManager, slotSize: maxKeys, maxMessage: ((long)m << 32) | (uint)count, parties: options.WorkingSetSize);
            }

            var client = new DictClient(name, handles, options.WaitForCheckpoints, options.CheckpointWaitTimeout);
            long checkpoint = 0;
            if (options.RestoreFrom is { } directory)
            {
                checkpoint = Restore(client, directory, options.RestoreCheckpoint);
            }

            return (client, checkpoint);
        }
        catch
        {
            foreach (var handle in handles)
            {
                handle?.Dispose();
            }

            throw;
        }
    }

    private static IReadOnlyList<int> Validate(DragonDictionaryOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ManagersPerNode, 1, nameof(options.ManagersPerNode));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MemoryPerManager, 64L << 10, nameof(options.MemoryPerManager));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WorkingSetSize, 1, nameof(options.WorkingSetSize));
        if (options.MaxKeysPerManager is { } keys)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(keys, 1, nameof(options.MaxKeysPerManager));
        }

        var all = RuntimeClient.Current.Hello.Nodes.Select(n => n.Index).ToArray();
        var nodes = options.Nodes ?? all;
        if (nodes.Count == 0)
        {
            throw new ArgumentException("a dictionary needs at least one node for its managers", nameof(options));
        }

        foreach (var node in nodes)
        {
            if (!all.Contains(node))
            {
                throw new ArgumentException($"node {node} is not a node of this run (nodes: {string.Join(", ", all)})", nameof(options));
            }
        }

        return nodes;
    }

    /// <summary>Fills every manager from its file of the checkpoint (the newest all persisted, unless one is named).</summary>
    private static long Restore(DictClient client, string directory, long? requested)
    {
        var checkpoint = requested ?? NewestPersisted(directory, client.ManagerCount)
            ?? throw new DictionaryCheckpointException(
                $"dictionary '{client.Name}': '{directory}' holds no checkpoint persisted by all {client.ManagerCount} managers");
        client.OnEveryManagerAsync(ObjectOp.DictRestore, DictWire.Text(Path.GetFullPath(directory)), checkpoint, CancellationToken.None).GetAwaiter().GetResult();
        return checkpoint;
    }

    /// <summary>The checkpoint ids persisted under <paramref name="directory"/> for every one of <paramref name="managers"/> managers.</summary>
    public static IReadOnlyList<long> PersistedCheckpoints(string directory, int managers)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(managers, 1);
        IEnumerable<long> common = DictCheckpointFile.List(directory, 0);
        for (var m = 1; m < managers; m++)
        {
            common = common.Intersect(DictCheckpointFile.List(directory, m));
        }

        return [.. common.Order()];
    }

    private static long? NewestPersisted(string directory, int managers) =>
        PersistedCheckpoints(directory, managers) is { Count: > 0 } ids ? ids[^1] : null;

    internal void WriteDescriptor(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("dictionary", Name);
        writer.WriteStartArray("managers");
        for (var m = 0; m < _client.ManagerCount; m++)
        {
            writer.WriteNumberValue(_client.Handle(m).Id);
        }

        writer.WriteEndArray();
        writer.WriteNumber("checkpoint", _checkpoint);
        writer.WriteBoolean("wait", _client.WaitForCheckpoints);
        writer.WriteNumber("waitMs", Timeouts.ToMilliseconds(_client.WaitTimeout));
        if (PersistDirectory is { } directory)
        {
            writer.WriteString("persist", directory);
        }

        writer.WriteEndObject();
    }

    /// <summary>Re-attaches in another process: a reference to every manager, at the sender's checkpoint.</summary>
    internal static DragonDictionary<TKey, TValue> FromDescriptor(JsonElement descriptor)
    {
        var ids = descriptor.GetProperty("managers").EnumerateArray().Select(e => e.GetUInt64()).ToArray();
        var handles = new HostedHandle[ids.Length];
        try
        {
            for (var m = 0; m < ids.Length; m++)
            {
                handles[m] = HostedHandle.Attach(ObjectKind.DictionaryShard, ids[m], null);
            }
        }
        catch
        {
            foreach (var handle in handles)
            {
                handle?.Dispose();
            }

            throw;
        }

        var waitMs = descriptor.GetProperty("waitMs").GetInt64();
        var client = new DictClient(
            descriptor.GetProperty("dictionary").GetString()!, handles, descriptor.GetProperty("wait").GetBoolean(),
            waitMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(waitMs));
        var persist = descriptor.TryGetProperty("persist", out var p) ? p.GetString() : null;
        return new DragonDictionary<TKey, TValue>(client, descriptor.GetProperty("checkpoint").GetInt64(), -1, owner: true, persist);
    }
}

/// <summary>Moves any <see cref="DragonDictionary{TKey, TValue}"/> between processes as its managers' ids.</summary>
internal sealed class DictionaryConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(DragonDictionary<,>);

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Used only with reflection-based serialization; Native AOT programs go through the registration in the type initializer.")]
    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(DictionaryConverter<,>).MakeGenericType(typeToConvert.GetGenericArguments()))!;

    internal sealed class DictionaryConverter<TKey, TValue> : JsonConverter<DragonDictionary<TKey, TValue>>
        where TKey : notnull
    {
        public override DragonDictionary<TKey, TValue>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return UserCodec.Validating ? null : DragonDictionary<TKey, TValue>.FromDescriptor(document.RootElement);
        }

        public override void Write(Utf8JsonWriter writer, DragonDictionary<TKey, TValue> value, JsonSerializerOptions options) => value.WriteDescriptor(writer);
    }
}
