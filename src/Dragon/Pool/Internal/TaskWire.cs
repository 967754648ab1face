using System.Buffers;
using System.Buffers.Binary;

namespace Dragon.Pool;

/// <summary>
/// The two messages of a pool, each one queue item of bytes.
/// Work, caller to worker: <c>1, dispatch id (8), segment count (4)</c>, then per segment <c>method id (4), flags
/// (1: <see cref="HasDescriptor"/>, <see cref="Capture"/>), [descriptor], task count (4), arguments</c>. A worker is
/// sent a method's descriptor with the first of its tasks it gets, and keeps it by id.
/// Results, worker to caller: <c>2, dispatch id (8), result count (4)</c>, then per task in the order sent (for a
/// captured segment first the task's stdout and stderr as two strings) a status byte: 0 and the result, 1 and the
/// exception's type, message and stack trace, 2 and a message (it ran past the task timeout; the worker ends after
/// sending this, so a count short of the tasks sent means the rest never ran).
/// </summary>
internal static class TaskWire
{
    public const byte Work = 1;
    public const byte Results = 2;

    public const byte Ok = 0;
    public const byte Threw = 1;
    public const byte TimedOut = 2;

    /// <summary>Segment flag: the method's descriptor follows.</summary>
    public const byte HasDescriptor = 1;

    /// <summary>Segment flag: capture each task's console output and send it back before its status.</summary>
    public const byte Capture = 2;

    public static void WriteHeader(ArrayBufferWriter<byte> writer, byte kind, long dispatchId, int count)
    {
        var span = writer.GetSpan(13);
        span[0] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], dispatchId);
        BinaryPrimitives.WriteInt32LittleEndian(span[9..], count);
        writer.Advance(13);
    }

    public static (byte Kind, long DispatchId, int Count) ReadHeader(ReadOnlySpan<byte> data, out int offset)
    {
        offset = 13;
        return (data[0], BinaryPrimitives.ReadInt64LittleEndian(data[1..]), BinaryPrimitives.ReadInt32LittleEndian(data[9..]));
    }

    public static void WriteInt32(ArrayBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    public static int ReadInt32(ReadOnlySpan<byte> data, ref int offset)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        return value;
    }

    public static void WriteByte(ArrayBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    /// <summary>The work message for <paramref name="segments"/>, with descriptors of methods new to the worker.</summary>
    public static void WriteWork(ArrayBufferWriter<byte> writer, long dispatchId, List<Segment> segments, HashSet<int> methodsKnown)
    {
        WriteHeader(writer, Work, dispatchId, segments.Count);
        foreach (var segment in segments)
        {
            var method = segment.Job.Method;
            WriteInt32(writer, method.Id);
            var capture = segment.Job.CapturesOutput ? Capture : (byte)0;
            if (methodsKnown.Add(method.Id))
            {
                WriteByte(writer, (byte)(HasDescriptor | capture));
                method.WriteDescriptor(writer);
            }
            else
            {
                WriteByte(writer, capture);
            }

            WriteInt32(writer, segment.Count);
            for (var i = 0; i < segment.Count; i++)
            {
                segment.Job.WriteArgument(segment.Start + i, writer);
            }
        }
    }
}
