using System.Buffers;
using System.Diagnostics;
using System.Runtime.Versioning;
using Dragon.Channels.Internal;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>ShmRing within one process: threads share one or several mappings of a ring.</summary>
public sealed class ShmRingTests
{
    private static readonly TimeSpan s_long = TimeSpan.FromSeconds(30);

    [Fact]
    public void Create_ThenOpen_SecondMappingSeesSameRing()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(8, 100, maxMessageSize: 5000);
        var other = scope.Open(ring.Path);

        Assert.Equal((8, 100, 5000), (other.SlotCount, other.SlotSize, other.MaxMessageSize));
        Assert.True(ring.TrySend("hello"u8, TimeSpan.Zero));
        Assert.Equal("hello"u8.ToArray(), other.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Create_NewFile_IsPrivateToOwner()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ring.Path));
    }

    [Fact]
    public void Create_ExistingPath_ThrowsIOExceptionNamingPath()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);

        var error = Assert.Throws<IOException>(() => ShmRing.Create(ring.Path, 4, 64));
        Assert.Contains(ring.Path, error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(ring.Path), "a failed Create must not remove someone else's ring");
    }

    [Fact]
    public void Open_MissingPath_ThrowsFileNotFoundNamingPath()
    {
        using var scope = new ShmRingScope();
        var path = scope.NewPath();

        var error = Assert.Throws<FileNotFoundException>(() => ShmRing.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(8192)]
    public void Open_NonRingFile_ThrowsInvalidDataNamingPath(int size)
    {
        using var scope = new ShmRingScope();
        var path = scope.NewPath();
        File.WriteAllBytes(path, ShmRingTestPattern.Bytes(size, 1));

        var error = Assert.Throws<InvalidDataException>(() => ShmRing.Open(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a Dragon shared-memory ring", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    [InlineData(64 * 1024)]
    [InlineData(16 * 1024 * 1024)]
    public void TrySend_MessageOfSize_ArrivesIntact(int size)
    {
        using var scope = new ShmRingScope();
        // 16 x 4 KiB slots: the 64 KiB and 16 MiB messages only fit by streaming through.
        var ring = scope.Create(16, 4096);
        var receiver = scope.Open(ring.Path);
        var first = ShmRingTestPattern.Bytes(size, 1);
        var second = ShmRingTestPattern.Bytes(size, 2);
        byte[]? gotFirst = null;
        var buffer = new ArrayBufferWriter<byte>();
        var gotSecondLength = -1;

        RunOnThreads(
            () =>
            {
                Assert.True(ring.TrySend(first, s_long));
                Assert.True(ring.TrySend(second, s_long));
            },
            () =>
            {
                gotFirst = receiver.TryReceive(s_long);
                Assert.True(receiver.TryReceive(buffer, s_long, out gotSecondLength));
            });

        Assert.Equal(first, gotFirst);
        Assert.Equal(size, gotSecondLength);
        Assert.True(buffer.WrittenSpan.SequenceEqual(second), "second message differs");
        Assert.Equal(0, ring.PendingSlots);
    }

    [Fact]
    public void TrySend_WhenFull_TimesOut()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(ring.TrySend(ShmRingTestPattern.Message(0, i, 64), TimeSpan.Zero));
        }

        Assert.False(ring.TrySend(ShmRingTestPattern.Message(0, 4, 64), TimeSpan.Zero));
        var clock = Stopwatch.StartNew();
        Assert.False(ring.TrySend(ShmRingTestPattern.Message(0, 4, 64), TimeSpan.FromMilliseconds(200)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(195), $"gave up after {clock.Elapsed}");

        Assert.Equal(0, ShmRingTestPattern.Check(ring.TryReceive(TimeSpan.Zero)).Seq);
        Assert.True(ring.TrySend(ShmRingTestPattern.Message(0, 4, 64), TimeSpan.Zero));
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(i, ShmRingTestPattern.Check(ring.TryReceive(TimeSpan.Zero)).Seq);
        }
    }

    [Fact]
    public void TryReceive_WhenEmpty_TimesOut()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);
        var buffer = new ArrayBufferWriter<byte>();

        Assert.Null(ring.TryReceive(TimeSpan.Zero));
        Assert.False(ring.TryReceive(buffer, TimeSpan.Zero, out _));
        var clock = Stopwatch.StartNew();
        Assert.Null(ring.TryReceive(TimeSpan.FromMilliseconds(200)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(195), $"gave up after {clock.Elapsed}");
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public void TryReceive_WhileAnotherReceiverHoldsTheRing_TimesOut()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);
        Exception? blockedError = null;
        var blocked = new Thread(() => blockedError = Record.Exception(() => ring.TryReceive(Timeout.InfiniteTimeSpan)));
        blocked.Start();
        SpinUntil(() => ring.ConsumerLockOwner != 0);

        var clock = Stopwatch.StartNew();
        Assert.Null(ring.TryReceive(TimeSpan.FromMilliseconds(150)));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(145), $"gave up after {clock.Elapsed}");

        ring.Close();
        Assert.True(blocked.Join(s_long));
        Assert.IsType<EndOfStreamException>(blockedError);
    }

    [Fact]
    public void TrySend_Oversize_ThrowsAndDeliversNothing()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64, maxMessageSize: 1000);

        var error = Assert.Throws<ArgumentException>(() => ring.TrySend(new byte[1001], Timeout.InfiniteTimeSpan));
        Assert.Contains("1001", error.Message, StringComparison.Ordinal);
        Assert.Contains("1000", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, ring.PendingSlots);
        Assert.Null(ring.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public void Close_AfterSends_ReceiversDrainThenEndOfStream()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(8, 64);
        var other = scope.Open(ring.Path);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(ring.TrySend(ShmRingTestPattern.Message(0, i, 32), TimeSpan.Zero));
        }

        other.Close();

        Assert.True(ring.IsClosed);
        var error = Assert.Throws<InvalidOperationException>(() => ring.TrySend("late"u8, TimeSpan.Zero));
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
        Assert.Contains(ring.Path, error.Message, StringComparison.Ordinal);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, ShmRingTestPattern.Check(ring.TryReceive(TimeSpan.Zero)).Seq);
        }

        Assert.Throws<EndOfStreamException>(() => ring.TryReceive(TimeSpan.Zero));
        Assert.Throws<EndOfStreamException>(() => other.TryReceive(new ArrayBufferWriter<byte>(), Timeout.InfiniteTimeSpan, out _));
    }

    [Fact]
    public void Close_WhileReceiverAndSenderBlocked_WakesBoth()
    {
        using var scope = new ShmRingScope();
        var empty = scope.Create(2, 64);
        var full = scope.Create(2, 64);
        Assert.True(full.TrySend("a"u8, TimeSpan.Zero));
        Assert.True(full.TrySend("b"u8, TimeSpan.Zero));
        Exception? receiveError = null;
        Exception? sendError = null;
        var receiver = new Thread(() => receiveError = Record.Exception(() => empty.TryReceive(Timeout.InfiniteTimeSpan)));
        var sender = new Thread(() => sendError = Record.Exception(() => full.TrySend("c"u8, Timeout.InfiniteTimeSpan)));
        receiver.Start();
        sender.Start();
        SpinUntil(() => empty.ConsumerLockOwner != 0 && full.ProducerLockOwner != 0);
        Thread.Sleep(50);

        empty.Close();
        full.Close();

        Assert.True(receiver.Join(TimeSpan.FromSeconds(2)), "receiver still blocked after close");
        Assert.True(sender.Join(TimeSpan.FromSeconds(2)), "sender still blocked after close");
        Assert.IsType<EndOfStreamException>(receiveError);
        Assert.IsType<InvalidOperationException>(sendError);
        Assert.Equal("a"u8.ToArray(), full.TryReceive(TimeSpan.Zero));
        Assert.Equal("b"u8.ToArray(), full.TryReceive(TimeSpan.Zero));
        Assert.Throws<EndOfStreamException>(() => full.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public void TrySend_LargeMessageTimesOutMidway_ReceiverNeverSeesPart()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(8, 1024);
        var receiver = scope.Open(ring.Path);

        // Nobody drains: 8 of the 64 chunks go in, then the timeout withdraws the message.
        Assert.False(ring.TrySend(ShmRingTestPattern.Bytes(64 * 1024, 3), TimeSpan.FromMilliseconds(100)));
        Assert.Equal(8, ring.PendingSlots);

        byte[]? received = null;
        RunOnThreads(
            () => received = receiver.TryReceive(s_long),
            () =>
            {
                SpinUntil(() => ring.PendingSlots == 0);
                Assert.True(ring.TrySend("after"u8, s_long));
            });

        Assert.Equal("after"u8.ToArray(), received);
        Assert.Null(receiver.TryReceive(TimeSpan.Zero));
    }

    [Fact]
    public void TrySend_FourProducersFourConsumersOnThreads_NoLossNoDuplicationOrderedPerProducer()
    {
        const int Producers = 4;
        const int Consumers = 4;
        const int PerProducer = 25_000;
        using var scope = new ShmRingScope();
        var ring = scope.Create(64, 64);
        var received = Enumerable.Range(0, Consumers).Select(_ => new List<(int, int)>()).ToArray();
        var producersLeft = Producers;

        var bodies = new List<Action>();
        for (var p = 0; p < Producers; p++)
        {
            var producer = p;
            // Half the threads use their own mapping, half share one: both must work.
            var mapping = producer % 2 == 0 ? ring : scope.Open(ring.Path);
            bodies.Add(() =>
            {
                for (var seq = 0; seq < PerProducer; seq++)
                {
                    // Sizes 8..200 B: some messages span several 64-byte slots.
                    Assert.True(mapping.TrySend(ShmRingTestPattern.Message(producer, seq, 8 + (seq % 193)), s_long));
                }

                if (Interlocked.Decrement(ref producersLeft) == 0)
                {
                    mapping.Close();
                }
            });
        }

        for (var c = 0; c < Consumers; c++)
        {
            var list = received[c];
            var mapping = c % 2 == 0 ? ring : scope.Open(ring.Path);
            bodies.Add(() =>
            {
                var buffer = new ArrayBufferWriter<byte>();
                while (true)
                {
                    buffer.ResetWrittenCount();
                    try
                    {
                        Assert.True(mapping.TryReceive(buffer, s_long, out _));
                    }
                    catch (EndOfStreamException)
                    {
                        return;
                    }

                    list.Add(ShmRingTestPattern.Check(buffer.WrittenSpan));
                }
            });
        }

        RunOnThreads([.. bodies]);

        ShmRingTestPattern.AssertExactlyOnceInOrder(received, Producers, PerProducer);
    }

    [Fact]
    public void Dispose_ThenUse_ThrowsObjectDisposed()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);
        var other = scope.Open(ring.Path);
        other.Dispose();

        Assert.Throws<ObjectDisposedException>(() => other.TrySend("x"u8, TimeSpan.Zero));
        Assert.True(ring.TrySend("x"u8, TimeSpan.Zero));
    }

    [Fact]
    public void Unlink_RemovesFile_MappingStillWorks()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(4, 64);

        ring.Unlink();

        Assert.False(File.Exists(ring.Path));
        Assert.True(ring.TrySend("x"u8, TimeSpan.Zero));
        Assert.Equal("x"u8.ToArray(), ring.TryReceive(TimeSpan.Zero));
    }

    internal static void SpinUntil(Func<bool> condition)
    {
        Assert.True(SpinWait.SpinUntil(condition, s_long), "condition not reached within 30 s");
    }

    // Threads of a RunOnThreads that gave up on them: they may still be inside a ring, so ShmRingScope must not unmap it.
    private static readonly List<Thread> s_stranded = [];

    /// <summary>
    /// Runs each body on its own thread (they block, so not on the pool) and rethrows failures. A body still running
    /// after 120 s fails the test naming it, with whatever the others threw (often the cause); the stranded thread is
    /// remembered so that <see cref="ShmRingScope"/> does not unmap a ring it may still be in.
    /// </summary>
    internal static void RunOnThreads(params Action[] bodies)
    {
        var errors = new Exception?[bodies.Length];
        // Background: a thread that never returns must not keep the test host from exiting.
        var threads = bodies.Select((body, i) => new Thread(() => errors[i] = Record.Exception(body)) { IsBackground = true }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        var clock = Stopwatch.StartNew();
        var stuck = new List<int>();
        for (var i = 0; i < threads.Length; i++)
        {
            var left = TimeSpan.FromSeconds(120) - clock.Elapsed;
            if (!threads[i].Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                stuck.Add(i);
            }
        }

        var failures = errors.OfType<Exception>().ToList();
        if (stuck.Count > 0)
        {
            lock (s_stranded)
            {
                s_stranded.AddRange(stuck.Select(i => threads[i]));
            }

            var message = $"bodies [{string.Join(", ", stuck)}] of {bodies.Length} still blocked after 120 s";
            throw failures.Count > 0 ? new AggregateException(message, failures) : new TimeoutException(message);
        }

        if (failures.Count > 0)
        {
            throw new AggregateException(failures);
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for threads a <see cref="RunOnThreads"/> gave up on; true when none is
    /// left running (so no thread can be inside a ring any more).
    /// </summary>
    internal static bool WaitForStrandedThreads(TimeSpan timeout)
    {
        lock (s_stranded)
        {
            var clock = Stopwatch.StartNew();
            s_stranded.RemoveAll(thread =>
            {
                var left = timeout - clock.Elapsed;
                return thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            });
            return s_stranded.Count == 0;
        }
    }
}
