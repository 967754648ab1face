using System.Text.Json;

namespace Dragon;

// The end of a batch: what has not finished is cancelled, running processes are stopped and waited for, the manifest
// is written, and the pool's workers go.
public sealed partial class DragonBatch
{
    /// <summary>What each task is or was, where it ran and how it ended, in task order.</summary>
    public IReadOnlyList<BatchManifestEntry> GetManifest() => Tasks.Select(t => t.GetManifestEntry()).ToArray();

    /// <summary>Writes the manifest as JSON (default <c>manifest.json</c> in <see cref="LogDirectory"/>) and returns its path.</summary>
    public async Task<string> WriteManifestAsync(string? path = null, CancellationToken cancellationToken = default)
    {
        path = Path.GetFullPath(path ?? Path.Combine(LogDirectory, "manifest.json"));
        var file = File.Create(path);
        await using (file.ConfigureAwait(false))
        {
            var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
            await using (json.ConfigureAwait(false))
            {
                json.WriteStartObject();
                json.WriteString("logDirectory", LogDirectory);
                json.WriteStartArray("tasks");
                foreach (var entry in GetManifest())
                {
                    WriteEntry(json, entry);
                }

                json.WriteEndArray();
                json.WriteEndObject();
                await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return path;
    }

    private static void WriteEntry(Utf8JsonWriter json, BatchManifestEntry entry)
    {
        json.WriteStartObject();
        json.WriteNumber("id", entry.Id);
        json.WriteString("name", entry.Name);
        json.WriteString("kind", entry.Kind.ToString());
        WriteArray(json, "dependsOn", entry.DependsOn, static (j, v) => j.WriteNumberValue(v));
        json.WriteString("state", entry.State.ToString());
        if (entry.Reason is not null)
        {
            json.WriteString("reason", entry.Reason);
        }

        if (entry.WorkerSlot is { } slot)
        {
            json.WriteNumber("workerSlot", slot);
        }

        WriteArray(json, "puids", entry.Puids, static (j, v) => j.WriteNumberValue(v));
        WriteArray(json, "nodes", entry.NodeIndexes, static (j, v) => j.WriteNumberValue(v));
        json.WriteString("submittedAt", entry.SubmittedAt);
        if (entry.StartedAt is { } started)
        {
            json.WriteString("startedAt", started);
        }

        if (entry.FinishedAt is { } finished)
        {
            json.WriteString("finishedAt", finished);
        }

        WriteArray(json, "stdoutLogs", entry.StdoutLogs, static (j, v) => j.WriteStringValue(v));
        WriteArray(json, "stderrLogs", entry.StderrLogs, static (j, v) => j.WriteStringValue(v));
        json.WriteEndObject();
    }

    private static void WriteArray<T>(Utf8JsonWriter json, string name, IReadOnlyList<T> values, Action<Utf8JsonWriter, T> write)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            write(json, value);
        }

        json.WriteEndArray();
    }

    /// <summary>
    /// Cancels every task that has not finished ("the batch was disposed"), waits for running processes to be stopped,
    /// writes the manifest and stops the workers. Results already produced stay readable from their tasks.
    /// </summary>
    /// <exception cref="IOException">The manifest could not be written (everything else was still stopped and removed).</exception>
    public async ValueTask DisposeAsync()
    {
        BatchTask[] tasks;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            tasks = _tasks.ToArray();
        }

        Exception? manifestError = null;
        try
        {
            foreach (var task in tasks)
            {
                task.Cancel("the batch was disposed before it finished");
            }

            // A cancelled process task ends once its group is stopped (SIGINT, SIGTERM, SIGKILL, 2 s apart); bounded.
            await Task.WhenAll(tasks.Select(t => t.WorkDone)).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            try
            {
                await WriteManifestAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                manifestError = e;
            }
        }
        finally
        {
            // Whatever happened above, the workers go.
            await _pool.DisposeAsync().ConfigureAwait(false);
            _processSlots.Dispose();
            _slotGate.Dispose();
        }

        if (manifestError is not null)
        {
            throw new IOException($"the batch's manifest could not be written to {Path.Combine(LogDirectory, "manifest.json")}: {manifestError.Message}", manifestError);
        }
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
