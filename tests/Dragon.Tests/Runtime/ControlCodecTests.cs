using System.Buffers.Binary;
using Dragon.Fuzz;
using Dragon.Runtime.Protocol;
using Xunit;

namespace Dragon.Tests.Runtime;

/// <summary>The control codec: every message type round-trips, and hostile bodies fail with InvalidDataException only.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlCodecTests
{
    [Fact]
    public void Decode_EveryMessageTypeAndSmallestArrayElements_RoundTrips()
    {
        Assert.Equal(51, SampleMessages.TypeCount);
        Assert.Empty(SampleMessages.RoundTripFailures());
    }

    [Fact]
    public void SizeHint_MessagesWithBulkData_IsTheExactEncodedSize()
    {
        foreach (var message in SampleMessages.All.Where(m => m is ObjectRequest or ObjectReply or StreamData or StreamWriteRequest or TargetReply or LogFileNotice))
        {
            Assert.Equal(FrameCodec.Encode(1, message).Length - FrameCodec.HeaderBytes, ControlCodec.SizeHint(message));
        }
    }

    [Fact]
    public void Decode_HelloWhoseSecretLengthIs0x80000000_ThrowsInvalidDataNamingTheField()
    {
        // The 18 bytes that crashed the launcher: a header, tag 2 (hello), a string length of 0x80000000.
        var frame = Hostile.HelloWithStringLength(unchecked((int)0x80000000));
        Assert.Equal(18, frame.Length);
        var e = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(frame.AsSpan(FrameCodec.HeaderBytes)));
        Assert.Contains("HelloRequest", e.Message, StringComparison.Ordinal);
        Assert.Contains("Secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_SpawnEntryNamingASpecThatIsNotThere_ThrowsInvalidDataNamingTheProcess()
    {
        var spec = new ProcessSpec(
            "/bin/true", [], null, [], new StdioSpec(StdioKind.Inherit, null), new StdioSpec(StdioKind.Inherit, null), new StdioSpec(StdioKind.Inherit, null),
            new PlacementSpec(0, null, Distribution.Default, null), null, "true");
        var frame = FrameCodec.Encode(1, new SpawnRequest([spec], [new SpawnEntry(5, 0, 1, []), new SpawnEntry(6, 1, 1, [])]));
        var e = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(frame.AsSpan(FrameCodec.HeaderBytes)));
        Assert.Contains("SpawnRequest", e.Message, StringComparison.Ordinal);
        Assert.Contains("process 6", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_TrailingBytes_ThrowsInvalidData()
    {
        var frame = FrameCodec.Encode(1, new QueryRequest(7));
        var body = frame.AsSpan(FrameCodec.HeaderBytes).ToArray().Append((byte)0).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(body));
        Assert.Contains("QueryRequest", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ArrayCountPastTheEnd_ThrowsBeforeAllocating()
    {
        var body = new byte[5];
        body[0] = 46; // QueryManyRequest(ulong[] Puids)
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(1), int.MaxValue);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(body));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024, "no array was allocated for the claimed count");
        Assert.Contains("Puids", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_UnknownTagOrEnumValue_ThrowsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => FrameCodec.Decode([25]));
        Assert.Throws<InvalidDataException>(() => FrameCodec.Decode([200]));
        var reply = FrameCodec.Encode(1, new ErrorReply(ErrorKind.Closed, "x")).AsSpan(FrameCodec.HeaderBytes).ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(1), 99);
        var e = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(reply));
        Assert.Contains("Kind", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ErrorReplyWithEveryContextField_RoundTrips()
    {
        var sent = new ErrorReply(ErrorKind.GroupFailed, "member 3 (puid 4294967301 on node n1) exited with code 7", new ErrorContext(4294967301, 1, 3, 7, 9, "q"));

        var back = Assert.IsType<ErrorReply>(FrameCodec.Decode(FrameCodec.Encode(1, sent).AsSpan(FrameCodec.HeaderBytes)));

        Assert.Equal(sent, back);
    }

    [Fact]
    public void Decode_ErrorReplyWithSomeOrNoContext_KeepsOnlyThoseFields()
    {
        var some = new ErrorReply(ErrorKind.NotFound, "no process with puid 5", new ErrorContext(Puid: 5));
        var empty = new ErrorReply(ErrorKind.Closed, "closed", new ErrorContext());

        var backSome = Assert.IsType<ErrorReply>(FrameCodec.Decode(FrameCodec.Encode(1, some).AsSpan(FrameCodec.HeaderBytes)));
        var backEmpty = Assert.IsType<ErrorReply>(FrameCodec.Decode(FrameCodec.Encode(1, empty).AsSpan(FrameCodec.HeaderBytes)));

        Assert.Equal(some, backSome);
        Assert.Null(backEmpty.Context);
    }

    [Fact]
    public void Decode_ErrorContextWithUnknownFlagOrCutShort_ThrowsInvalidDataNamingTheField()
    {
        var body = FrameCodec.Encode(1, new ErrorReply(ErrorKind.NotFound, "x", new ErrorContext(Puid: 5))).AsSpan(FrameCodec.HeaderBytes).ToArray();
        var flagsAt = 1 + 4 + 4 + 1; // tag, kind, message length, "x"

        var unknown = (byte[])body.Clone();
        unknown[flagsAt] = 0x41;
        var e1 = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(unknown));
        var e2 = Assert.Throws<InvalidDataException>(() => FrameCodec.Decode(body.AsSpan(0, body.Length - 1)));

        Assert.Contains("Context.Flags", e1.Message, StringComparison.Ordinal);
        Assert.Contains("Context.Puid", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EncodeParts_LargePayload_WritesTheSameFrameWithoutCopyingIt()
    {
        var payload = new byte[(WireWriter.ScatterBytes * 2) + 3];
        Random.Shared.NextBytes(payload);
        var message = new ObjectRequest(5, ObjectOp.Send, payload, 250, -3, 7);

        var parts = FrameCodec.EncodeParts(9, message);

        Assert.Contains(parts, p => System.Runtime.InteropServices.MemoryMarshal.TryGetArray(p, out var segment) && segment.Array == payload);
        Assert.Equal(FrameCodec.Encode(9, message), parts.SelectMany(p => p.ToArray()).ToArray());
    }

    [Fact]
    public void Decode_ObjectRequestFromAnArray_PayloadIsASliceOfTheBody()
    {
        var body = FrameCodec.Encode(1, new ObjectRequest(5, ObjectOp.Send, new byte[] { 1, 2, 3 }, 250, -3, 7)).AsSpan(FrameCodec.HeaderBytes).ToArray();

        var request = Assert.IsType<ObjectRequest>(FrameCodec.Decode(body));

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(request.Payload, out var segment));
        Assert.Same(body, segment.Array);
        Assert.Equal([1, 2, 3], request.Payload.ToArray());
    }

    [Fact]
    public void HelloCheck_RightAndWrongSecret_ProvesOnlyTheRightOne()
    {
        var secret = "0123456789abcdef"u8.ToArray();
        var good = FrameCodec.Encode(0, new HelloRequest("0123456789abcdef", 7, 99)).AsSpan(FrameCodec.HeaderBytes).ToArray();
        Assert.True(HelloCheck.Proves(good, secret, out var puid, out var pid));
        Assert.Equal((7UL, 99), (puid, pid));
        var bad = FrameCodec.Encode(0, new HelloRequest("0123456789abcdeX", 7, 99)).AsSpan(FrameCodec.HeaderBytes).ToArray();
        Assert.False(HelloCheck.Proves(bad, secret, out _, out _));
        var other = FrameCodec.Encode(0, new QueryRequest(7)).AsSpan(FrameCodec.HeaderBytes).ToArray();
        Assert.False(HelloCheck.Proves(other, secret, out _, out _));
    }
}

/// <summary>Frames a hostile peer sends.</summary>
internal static class Hostile
{
    /// <summary>A hello frame (18 bytes) whose secret's length field is <paramref name="length"/> with one byte after it.</summary>
    public static byte[] HelloWithStringLength(int length)
    {
        var frame = new byte[18];
        BinaryPrimitives.WriteInt32LittleEndian(frame, 14);
        frame[12] = 2;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(13), length);
        return frame;
    }

    /// <summary>Just a frame header claiming <paramref name="length"/> bytes follow.</summary>
    public static byte[] Header(int length)
    {
        var header = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(header, length);
        return header;
    }
}
