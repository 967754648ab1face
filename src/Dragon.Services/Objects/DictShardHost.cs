using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Dragon.Dictionary.Internal;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Objects;

/// <summary>
/// One manager of a dictionary, hosted by its node service: it creates the shard's shared-memory file (which the
/// processes of this node use directly) and serves the requests of processes on other nodes by performing them on
/// the same shard. Waits for a key run on a thread of their own (the futex sleep blocks); checkpoint files are
/// written and read here, on the manager's own node.
/// </summary>
internal sealed class DictShardHost : HostedObject
{
    private const int MaxScanBytes = 4 << 20;

    private const int MaxReplyHint = 64 << 20;

    private const int MaxGetHint = 1 << 20;

    private readonly DictShard _shard;
    private int _bytesPerKey;

    public DictShardHost(ObjectDescriptor descriptor, DictShard shard)
        : base(descriptor)
    {
        _shard = shard;
    }

    /// <summary>How many managers the dictionary has (the descriptor's <c>MaxMessageBytes</c> low half).</summary>
    private int Managers => (int)(Descriptor.MaxMessageBytes & 0xFFFF_FFFF);

    public override Task<ObjectReply> HandleAsync(ObjectRequest request, CancellationToken cancellationToken) => request.Op switch
    {
        ObjectOp.DictWaitFor => WaitForAsync(request, cancellationToken),
        ObjectOp.DictGet when request.TimeoutMs != 0 => GetOrWaitAsync(request, cancellationToken),
        ObjectOp.DictPersist or ObjectOp.DictRestore => Task.Run(() => Guarded(request), CancellationToken.None),
        _ => Task.FromResult(Guarded(request)),
    };

    /// <summary>Serves one operation with the shard counted in use, so its destruction does not unmap it meanwhile.</summary>
    private ObjectReply Guarded(ObjectRequest request)
    {
        if (!_shard.Enter())
        {
            return Reply(ObjectStatus.Destroyed);
        }

        try
        {
            return request.Op switch
            {
                ObjectOp.DictGet => Get(request),
                ObjectOp.DictGetMany => GetMany(request),
                ObjectOp.DictContains => Status(_shard.Contains(request.Payload.Span, DictHash.Of(request.Payload.Span), request.Argument), request.Argument),
                ObjectOp.DictPut => Put(request),
                ObjectOp.DictRemove => Status(_shard.Remove(request.Payload.Span, DictHash.Of(request.Payload.Span), request.Argument), request.Argument, DictLayout.EntryBytes + request.Payload.Length),
                ObjectOp.DictPutMany => PutMany(request),
                ObjectOp.DictPutEach => PutEach(request),
                ObjectOp.DictAdd => Add(request),
                ObjectOp.DictScan => Scan(request),
                ObjectOp.DictCount => Ok(_shard.Count(request.Argument)),
                ObjectOp.DictStats => Stats(),
                ObjectOp.DictClear => Clear(),
                ObjectOp.DictFreeze => Freeze(request.Argument != 0),
                ObjectOp.DictPersist => Persist(request),
                ObjectOp.DictRestore => Restore(request),
                _ => Failure(ObjectStatus.Invalid, $"{request.Op} is not an operation of a dictionary manager"),
            };
        }
        catch (InvalidDataException e)
        {
            return Failure(ObjectStatus.Invalid, e.Message);
        }
        finally
        {
            _shard.Exit();
            if (request.Op is ObjectOp.DictPut or ObjectOp.DictPutMany or ObjectOp.DictPutEach)
            {
                // The pairs are in the shard now: a rented request body (a large put from another node) goes back.
                PooledBody.Release(request.Payload);
            }
        }
    }

    private ObjectReply Get(ObjectRequest request)
    {
        // The value straight out of the shard into a rented reply (a read that raced a writer writes the same space
        // again), which the connection gives back once written.
        var key = request.Payload.Span;
        // Room for what a key took lately, at most a typical value's: a single read of a huge value grows it.
        var output = new PooledWriter(Math.Min(Volatile.Read(ref _bytesPerKey), MaxGetHint));
        SpanDecoder<int> copy = value =>
        {
            value.CopyTo(output.GetSpan(value.Length));
            return value.Length;
        };
        try
        {
            var status = _shard.TryDecode(key, DictHash.Of(key), request.Argument, copy, out var length);
            if (status != DictStatus.Ok)
            {
                output.Release();
                return Status(status, request.Argument);
            }

            output.Advance(length);
            Volatile.Write(ref _bytesPerKey, length + 8);
            return new ObjectReply(ObjectStatus.Ok, output.ToPayload(), (long)DictStatus.Ok);
        }
        catch
        {
            output.Release();
            throw;
        }
    }

    /// <summary>Many gets in one request: each key's value (or -1 for none), in order (<see cref="DictWire.ReadValues"/>).</summary>
    private ObjectReply GetMany(ObjectRequest request)
    {
        // Sized from the bytes a key took in the last reply, times this request's keys: growing a reply of megabytes
        // from a few kilobytes allocated it several times over, in memory never touched before (a page fault a page).
        var keys = 0;
        var reader = new DictWire.PairReader(request.Payload.Span, withValues: false);
        while (reader.Next(out _, out _))
        {
            keys++;
        }

        // Rented (the connection gives it back once written): a reply of megabytes in memory already touched.
        var perKey = Volatile.Read(ref _bytesPerKey);
        var output = new PooledWriter((int)Math.Clamp((long)perKey * keys, 4096, MaxReplyHint));
        try
        {
            // At most about a part's size (the asker asks again for the keys after where it stopped).
            var status = DictWire.GetMany(_shard, request.Payload.Span, request.Argument, output, DictClient.ReplyBytes);
            if (keys > 0)
            {
                Volatile.Write(ref _bytesPerKey, (output.WrittenCount / keys) + 8);
            }

            if (status != DictStatus.Ok)
            {
                output.Release();
                return Status(status, request.Argument);
            }

            return new ObjectReply(ObjectStatus.Ok, output.ToPayload(), (long)DictStatus.Ok);
        }
        catch
        {
            output.Release();
            throw;
        }
    }

    /// <summary>
    /// A get that may wait for its checkpoint (the dictionary waits for checkpoints): served at once unless the shard
    /// has not reached it, else on a thread of its own until it has, or the request's time runs out.
    /// </summary>
    private async Task<ObjectReply> GetOrWaitAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        var first = Guarded(request);
        if (first.Value != (long)DictStatus.NotYet)
        {
            return first;
        }

        return await OnOwnThreadAsync(request, () =>
        {
            var status = _shard.WaitForCheckpoint(request.Argument, TimeoutOf(request), cancellationToken);
            return status == DictStatus.Ok ? Get(request) : Status(status, request.Argument);
        }).ConfigureAwait(false);
    }

    private ObjectReply Put(ObjectRequest request)
    {
        var (key, value) = DictWire.ReadPut(request.Payload);
        var status = _shard.Put(key.Span, DictHash.Of(key.Span), value.Span, request.Argument);
        return Status(status, request.Argument, DictLayout.EntryBytes + key.Length + value.Length);
    }

    private ObjectReply PutMany(ObjectRequest request)
    {
        var status = _shard.PutMany(request.Payload.Span, request.Argument, out var done);
        if (status == DictStatus.Ok)
        {
            return Ok((long)DictStatus.Ok);
        }

        // The status and how many went in: a client that sent puts of its callers together ends each one on its own.
        return new ObjectReply(
            ObjectStatus.Broken, Encoding.UTF8.GetBytes($"{_shard.Describe(status, request.Argument)} (the first {done} of the batch went in)"), DictClient.PutManyFailureValue(status, done));
    }

    /// <summary>
    /// Puts each pair on its own, in order: one refused for the manager's room is skipped and the others go on (a
    /// smaller value may still fit), each refusal described in the reply; the shard's state (frozen, a retired
    /// checkpoint) stops the batch at that pair. After <see cref="DictWire.MaxRefusals"/> refusals the batch stops at
    /// the next pair untried, with the room's status, and the client sends the rest again.
    /// </summary>
    private ObjectReply PutEach(ObjectRequest request)
    {
        var batch = request.Payload.Span;
        var count = DictWire.CountPairs(batch);
        var refusals = new List<(int Index, DictStatus Status, string Message)>();
        var at = 0;
        var stop = (Status: DictStatus.Ok, Index: count, Message: "");
        while (at < count)
        {
            var status = _shard.PutMany(batch, request.Argument, out var done);
            if (status == DictStatus.Ok)
            {
                break;
            }

            at += done;
            var rest = DictWire.SkipPairs(batch, done);
            if (!status.IsForRoom())
            {
                stop = (status, at, _shard.Describe(status, request.Argument));
                break;
            }

            if (refusals.Count == DictWire.MaxRefusals)
            {
                stop = (status, at, "");
                break;
            }

            refusals.Add((at, status, _shard.Describe(status, request.Argument, DictWire.EntryBytesOfPair(rest, 0))));
            batch = DictWire.SkipPairs(rest, 1);
            at++;
        }

        return refusals.Count == 0 && stop.Index == count
            ? Ok((long)DictStatus.Ok)
            : new ObjectReply(ObjectStatus.Broken, DictWire.Refusals(refusals, stop.Message), DictClient.PutManyFailureValue(stop.Status, stop.Index));
    }

    private ObjectReply Add(ObjectRequest request)
    {
        var payload = request.Payload.Span;
        if (payload.Length < 8)
        {
            return Failure(ObjectStatus.Invalid, $"a dictionary add of {payload.Length} bytes has no delta");
        }

        var key = payload[8..];
        var status = _shard.Add(key, DictHash.Of(key), BinaryPrimitives.ReadInt64LittleEndian(payload), request.Argument, out var result);
        if (status != DictStatus.Ok)
        {
            return Status(status, request.Argument);
        }

        var reply = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(reply, result);
        return new ObjectReply(ObjectStatus.Ok, reply, (long)DictStatus.Ok);
    }

    /// <summary>A process of another node waits for a key: on the shard's futex, on a thread of its own.</summary>
    private Task<ObjectReply> WaitForAsync(ObjectRequest request, CancellationToken cancellationToken)
    {
        var key = request.Payload.ToArray();
        return OnOwnThreadAsync(request, () =>
        {
            var buffer = Array.Empty<byte>();
            var status = _shard.WaitFor(key, DictHash.Of(key), request.Argument, ref buffer, out var length, TimeoutOf(request), cancellationToken);
            return status switch
            {
                DictStatus.Ok => new ObjectReply(ObjectStatus.Ok, buffer.AsMemory(0, length), (long)DictStatus.Ok),
                DictStatus.Destroyed => Reply(ObjectStatus.Destroyed),
                DictStatus.NotFound or DictStatus.NotYet => Reply(ObjectStatus.TimedOut, (long)status),
                _ => Status(status, request.Argument),
            };
        });
    }

    /// <summary>
    /// A wait on the shard's futex for a process of another node: it blocks its thread, so it gets one of its own,
    /// with the shard counted in use; a cancel (the request's token) ends it with Cancelled, having taken nothing.
    /// </summary>
    private Task<ObjectReply> OnOwnThreadAsync(ObjectRequest request, Func<ObjectReply> wait) => Task.Factory.StartNew(
        () =>
        {
            if (!_shard.Enter())
            {
                return Reply(ObjectStatus.Destroyed);
            }

            try
            {
                return wait();
            }
            catch (OperationCanceledException)
            {
                return Reply(ObjectStatus.Cancelled);
            }
            catch (InvalidDataException e)
            {
                return Failure(ObjectStatus.Invalid, $"{request.Op}: {e.Message}");
            }
            finally
            {
                _shard.Exit();
            }
        },
        CancellationToken.None,
        TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
        TaskScheduler.Default);

    private static TimeSpan TimeoutOf(ObjectRequest request) =>
        request.TimeoutMs < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(request.TimeoutMs);

    private ObjectReply Scan(ObjectRequest request)
    {
        var payload = request.Payload.Span;
        if (payload.Length != 16)
        {
            return Failure(ObjectStatus.Invalid, $"a dictionary scan request is 16 bytes, not {payload.Length}");
        }

        var cursor = BinaryPrimitives.ReadInt64LittleEndian(payload);
        var withValues = BinaryPrimitives.ReadInt32LittleEndian(payload[8..]) != 0;
        var maxBytes = Math.Clamp(BinaryPrimitives.ReadInt32LittleEndian(payload[12..]), 1, MaxScanBytes);
        var output = new ArrayBufferWriter<byte>(Math.Min(maxBytes + 1024, 1 << 20));
        output.Advance(12);
        var next = _shard.Scan(cursor, request.Argument, withValues, output, maxBytes, out var count);
        var reply = output.WrittenMemory;
        var head = System.Runtime.InteropServices.MemoryMarshal.AsMemory(reply).Span;
        BinaryPrimitives.WriteInt64LittleEndian(head, next);
        BinaryPrimitives.WriteInt32LittleEndian(head[8..], count);
        return new ObjectReply(ObjectStatus.Ok, reply, (long)DictStatus.Ok);
    }

    private ObjectReply Stats()
    {
        var output = new ArrayBufferWriter<byte>(80);
        DictShard.WriteStats(_shard.Stats(), output);
        return new ObjectReply(ObjectStatus.Ok, output.WrittenMemory, (long)DictStatus.Ok);
    }

    private ObjectReply Clear()
    {
        _shard.Clear();
        return Ok((long)DictStatus.Ok);
    }

    private ObjectReply Freeze(bool frozen)
    {
        _shard.SetFrozen(frozen);
        return Ok((long)DictStatus.Ok);
    }

    private ObjectReply Persist(ObjectRequest request)
    {
        var directory = Encoding.UTF8.GetString(request.Payload.Span);
        if (request.Argument < _shard.Checkpoints.Oldest)
        {
            return Status(DictStatus.Retired, request.Argument);
        }

        try
        {
            return Ok(DictCheckpointFile.Write(_shard, Managers, request.Argument, directory));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failure(ObjectStatus.Broken, $"manager {_shard.ManagerIndex} could not persist checkpoint {request.Argument} to '{directory}': {e.Message}", DictStatus.Failed);
        }
    }

    private ObjectReply Restore(ObjectRequest request)
    {
        var directory = Encoding.UTF8.GetString(request.Payload.Span);
        try
        {
            return Ok(DictCheckpointFile.Read(_shard, Managers, request.Argument, directory));
        }
        catch (FileNotFoundException e)
        {
            return Failure(ObjectStatus.Broken, e.Message, DictStatus.NoCheckpoint);
        }
        catch (DictionaryFullException e)
        {
            return Failure(ObjectStatus.Broken, e.Message, DictStatus.Full);
        }
        catch (InvalidDataException e)
        {
            return Failure(ObjectStatus.Broken, e.Message, DictStatus.Corrupt);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failure(ObjectStatus.Broken, $"manager {_shard.ManagerIndex} could not read checkpoint {request.Argument} from '{directory}': {e.Message}", DictStatus.Failed);
        }
    }

    /// <summary>A shard status as a reply: Ok and NotFound as such, anything else with the manager's description.</summary>
    private ObjectReply Status(DictStatus status, long checkpoint, long need = 0) => status is DictStatus.Ok or DictStatus.NotFound
        ? Ok((long)status)
        : Failure(ObjectStatus.Broken, _shard.Describe(status, checkpoint, need), status);

    /// <summary>A failure: Broken with the <see cref="DictStatus"/> as the value and the description as the payload.</summary>
    private static ObjectReply Failure(ObjectStatus status, string message, DictStatus code = DictStatus.Ok) =>
        new(status, Encoding.UTF8.GetBytes(message), (long)code);

    public override void Destroy()
    {
        // Waiters here and in the processes of this node see the mark and leave; the unmapping waits for this
        // service's operations in progress.
        _shard.MarkDestroyed();
        DictShard.TryDelete(_shard.Path);
        _shard.Dispose();
    }
}
