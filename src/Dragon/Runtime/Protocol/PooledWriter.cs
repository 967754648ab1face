using System.Buffers;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// Builds a large payload in rented arrays (<see cref="PooledBody"/>): a reply of many values is written straight
/// into memory already touched, and handed to the message whole (<see cref="ToPayload"/>), which the connection gives
/// back to the pool once written. Grows by renting twice the room and copying what is written.
/// </summary>
internal sealed class PooledWriter : IBufferWriter<byte>
{
    private PooledBody? _body;
    private int _written;

    /// <param name="sizeHint">Room to rent at first.</param>
    public PooledWriter(int sizeHint)
    {
        _body = PooledBody.Rent(Math.Max(sizeHint, 256));
    }

    /// <summary>Bytes written so far.</summary>
    public int WrittenCount => _written;

    /// <summary>What was written so far.</summary>
    public Span<byte> WrittenSpan => Body.Array.AsSpan(0, _written);

    /// <summary>True once <see cref="ToPayload"/> or <see cref="Release"/> ended the writer.</summary>
    public bool IsSpent => _body is null;

    /// <summary>Starts over in the same room (what was written was used here, not sent).</summary>
    public void Reset() => _written = 0;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Body.Array.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Body.Array.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Body.Array.AsSpan(_written);
    }

    /// <summary>What was written, as a payload owned by the pool; the writer is done with it.</summary>
    public ReadOnlyMemory<byte> ToPayload()
    {
        var body = Body;
        _body = null;
        body.SetLength(_written);
        return body.Memory;
    }

    /// <summary>Gives the room back (the payload was not used).</summary>
    public void Release()
    {
        _body?.Release();
        _body = null;
    }

    private PooledBody Body => _body ?? throw new ObjectDisposedException(nameof(PooledWriter));

    private void Ensure(int sizeHint)
    {
        var body = Body;
        var need = Math.Max(sizeHint, 1);
        if (body.Array.Length - _written >= need)
        {
            return;
        }

        var grown = Math.Max((long)body.Array.Length * 2, (long)_written + need);
        if (grown > Array.MaxLength)
        {
            throw new InsufficientMemoryException($"a payload cannot grow past {Array.MaxLength} bytes");
        }

        body.Grow((int)grown, _written);
    }
}
