using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dragon.Runtime.Protocol;

/// <summary>
/// A large frame body, or a large payload being built, in an array rented from the shared pool instead of a new one.
/// On this machine kind a new array of a megabyte is memory the GC commits afresh (it decommits what a collection
/// freed), and every 4 KiB page of it costs a page fault at its first write: a 64 KB read between two nodes took
/// about 60 faults, most of its time. A rented array is memory already touched.
/// <para>
/// The body is a <see cref="MemoryManager{T}"/>, so the payload a decoded message keeps (a slice of the body) still
/// knows its owner, through <c>with</c> copies of the message too. Who ends the payload's life gives the array back:
/// a connection once it has written the message (a node service that forwards a request or a reply), or the one
/// consumer that has copied out what it needs (<see cref="Release(ReadOnlyMemory{byte})"/>). A payload nobody
/// releases is left to the GC like any array; one released while still in use would be read after another renter
/// wrote it, so a release is made only where the message has no other holder.
/// </para>
/// </summary>
internal sealed class PooledBody : MemoryManager<byte>
{
    /// <summary>Bodies smaller than this are plain arrays: the GC's young generation serves them without faults.</summary>
    public const int MinBytes = 16 * 1024;

    /// <summary>Bodies larger than this are plain arrays too, so the pool never holds more than a few of this size.</summary>
    public const int MaxBytes = 64 * 1024 * 1024;

    private byte[]? _array;
    private int _length;

    private PooledBody(byte[] array, int length)
    {
        _array = array;
        _length = length;
    }

    /// <summary>True when a body of <paramref name="length"/> bytes is worth renting.</summary>
    public static bool Fits(int length) => length is >= MinBytes and <= MaxBytes;

    /// <summary>A body of exactly <paramref name="length"/> bytes (its array may be longer); its contents are undefined.</summary>
    public static PooledBody Rent(int length) => new(ArrayPool<byte>.Shared.Rent(length), length);

    /// <summary>A copy of <paramref name="data"/> to send: rented when it fits the pool (the connection gives it back once written).</summary>
    public static ReadOnlyMemory<byte> CopyOf(ReadOnlySpan<byte> data)
    {
        if (!Fits(data.Length))
        {
            return data.ToArray();
        }

        var body = Rent(data.Length);
        data.CopyTo(body.Array);
        return body.Memory;
    }

    /// <summary>The rented array (longer than <see cref="Length"/>, most likely).</summary>
    /// <exception cref="ObjectDisposedException">The body was released.</exception>
    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBody), "a pooled message body was used after it was given back");

    /// <summary>The body's length.</summary>
    public int Length => _length;

    /// <summary>Sets the body's length, up to its array's (a payload built in the whole rented array).</summary>
    public void SetLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Array.Length);
        _length = length;
    }

    /// <summary>Gives a larger array for the body, keeping its first <paramref name="keep"/> bytes.</summary>
    public void Grow(int length, int keep)
    {
        var grown = ArrayPool<byte>.Shared.Rent(length);
        Array.AsSpan(0, keep).CopyTo(grown);
        var old = _array!;
        _array = grown;
        _length = length;
        GiveBack(old);
    }

    /// <summary>Gives the array back to the pool, once; later uses of the body throw.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _array, null) is { } array)
        {
            GiveBack(array);
        }
    }

    /// <summary>Returns an array to the pool, unless it is larger than the pool should keep (the GC takes it).</summary>
    private static void GiveBack(byte[] array)
    {
        if (array.Length <= MaxBytes)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>The pooled body under <paramref name="memory"/>, if it is a slice of one.</summary>
    public static PooledBody? Of(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetMemoryManager<byte, PooledBody>(memory, out var body) ? body : null;

    /// <summary>Releases the pooled body under <paramref name="memory"/>, if any: for the one consumer of a payload once it has copied it out.</summary>
    public static void Release(ReadOnlyMemory<byte> memory) => Of(memory)?.Release();

    /// <summary>The pooled payload a message carries, if any (the kinds whose payload is a slice of their frame's body).</summary>
    public static PooledBody? Of(IMessage message) => message switch
    {
        ObjectRequest m => Of(m.Payload),
        ObjectReply m => Of(m.Payload),
        ChannelPut m => Of(m.Payload),
        StreamData m => Of(m.Lines),
        _ => null,
    };

    /// <summary>
    /// Decodes a message from this body. The body stays rented only when the message keeps a slice of it (a non-empty
    /// payload); otherwise it is released at once, and an empty payload is made a plain empty one.
    /// </summary>
    /// <exception cref="InvalidDataException">The body is not one well-formed message (the body is released).</exception>
    public IMessage Decode()
    {
        IMessage message;
        try
        {
            message = ControlCodec.Read(Memory);
        }
        catch
        {
            Release();
            throw;
        }

        if (ReferenceEquals(Of(message), this))
        {
            IMessage? empty = message switch
            {
                ObjectRequest m when m.Payload.IsEmpty => m with { Payload = ReadOnlyMemory<byte>.Empty },
                ObjectReply m when m.Payload.IsEmpty => m with { Payload = ReadOnlyMemory<byte>.Empty },
                ChannelPut m when m.Payload.IsEmpty => m with { Payload = ReadOnlyMemory<byte>.Empty },
                StreamData m when m.Lines.IsEmpty => m with { Lines = ReadOnlyMemory<byte>.Empty },
                _ => null,
            };
            if (empty is null)
            {
                return message;
            }

            message = empty;
        }

        Release();
        return message;
    }

    public override Span<byte> GetSpan() => Array.AsSpan(0, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var array = Array;
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        unsafe
        {
            return new MemoryHandle(Unsafe.Add<byte>((void*)handle.AddrOfPinnedObject(), elementIndex), handle, this);
        }
    }

    public override void Unpin()
    {
    }

    protected override bool TryGetArray(out ArraySegment<byte> segment)
    {
        segment = new ArraySegment<byte>(Array, 0, _length);
        return true;
    }

    protected override void Dispose(bool disposing) => Release();
}
