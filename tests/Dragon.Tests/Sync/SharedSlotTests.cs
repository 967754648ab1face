using System.Diagnostics;
using Dragon.Runtime;
using Xunit;

namespace Dragon.Tests.Sync;

/// <summary>
/// Events, locks and semaphores homed on this process's node live in a shared slot (Sync/Internal/SyncSlot.cs):
/// their operations make no request, a cancelled wait takes nothing, thousands of them hold no file descriptor each,
/// and the run's end removes their slab files. The runtime is hosted in this process (<see cref="LocalRuntime"/>),
/// so its node service's descriptors count in /proc/self/fd too.
/// </summary>
public sealed class SharedSlotTests(Xunit.Abstractions.ITestOutputHelper output)
{

    [Fact]
    public async Task Operations_OnTheHomeNode_MakeNoRequest()
    {
        using var runtime = LocalRuntime.Start();
        using var @event = new DragonEvent();
        using var @lock = new DragonLock();
        using var recursive = new DragonLock(recursive: true);
        using var semaphore = new DragonSemaphore(2, bounded: true);

        var before = RuntimeClient.RequestsSent;
        for (var i = 0; i < 1000; i++)
        {
            @event.Set();
            Assert.True(@event.IsSet());
            @event.Wait(TimeSpan.FromSeconds(1));
            @event.Clear();
            Assert.False(@event.TryWait(TimeSpan.Zero));
            @lock.Acquire();
            Assert.False(@lock.TryAcquire(TimeSpan.Zero));
            @lock.Release();
            recursive.Acquire();
            recursive.Acquire();
            recursive.Release();
            recursive.Release();
            semaphore.Acquire();
            semaphore.Acquire();
            Assert.False(semaphore.TryAcquire(TimeSpan.Zero));
            semaphore.Release(2);
            await @event.SetAsync();
            await @event.WaitAsync(TimeSpan.FromSeconds(1));
            await @event.ClearAsync();
            await @lock.AcquireAsync();
            await @lock.ReleaseAsync();
            await semaphore.AcquireAsync();
            await semaphore.ReleaseAsync();
        }

        Assert.Equal(2, semaphore.GetValue());
        Assert.Throws<InvalidOperationException>(() => @lock.Release());
        Assert.Throws<InvalidOperationException>(() => semaphore.Release());
        Assert.Equal(0, RuntimeClient.RequestsSent - before);

        // The counter does see requests: creating an object is one.
        using var another = new DragonEvent();
        Assert.True(RuntimeClient.RequestsSent - before >= 1);
    }

    [Fact]
    public async Task Operations_OnAnotherNode_GoByRequestToTheSlotThere()
    {
        using var runtime = LocalRuntime.Start(nodes: 2);
        using var @lock = new DragonLock(node: 1);
        Assert.Empty(SlabFiles(node: 0));
        Assert.Single(SlabFiles(node: 1));
        var before = RuntimeClient.RequestsSent;
        @lock.Acquire();
        Assert.False(await @lock.TryAcquireAsync(TimeSpan.FromMilliseconds(50)));
        @lock.Release();
        Assert.True(await @lock.TryAcquireAsync(TimeSpan.Zero));
        await @lock.ReleaseAsync();
        Assert.Equal(5, RuntimeClient.RequestsSent - before);
    }

    [Fact]
    public async Task LockAcquireAsync_CancelledWhileWaitingOrAsItIsReleased_NeverLeavesTheLockTaken()
    {
        using var runtime = LocalRuntime.Start();
        using var @lock = new DragonLock();
        var gotIt = 0;
        for (var round = 0; round < 40; round++)
        {
            @lock.Acquire();
            using var cancel = new CancellationTokenSource();
            var acquire = @lock.AcquireAsync(cancel.Token);
            Thread.Sleep(round % 4 == 0 ? 30 : 1);

            // Half the rounds release just as the cancel fires, so the wait may take the lock or give up.
            var started = Stopwatch.StartNew();
            cancel.Cancel();
            if (round % 2 == 1)
            {
                @lock.Release();
            }

            if (round % 2 == 0)
            {
                // Held by this process all along (a non-recursive lock): the wait can only end cancelled.
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => acquire);
                Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"the cancel took {started.Elapsed.TotalMilliseconds:F0} ms");
                @lock.Release();
            }
            else
            {
                try
                {
                    await acquire;
                    gotIt++;
                    @lock.Release();
                }
                catch (OperationCanceledException)
                {
                }
            }

            // Whatever the outcome, nobody holds the lock now.
            Assert.True(@lock.TryAcquire(TimeSpan.Zero), $"round {round}: a cancelled acquire left the lock taken");
            @lock.Release();
        }

        output.WriteLine($"{gotIt} of 20 waits racing the release took the lock before seeing the cancel");
    }

    [Fact]
    public void TenThousandObjects_OnANode_HoldNoDescriptorEach()
    {
        using var runtime = LocalRuntime.Start();
        var fdsBefore = Directory.GetFiles("/proc/self/fd").Length;
        var events = new List<DragonEvent>(10_000);
        try
        {
            for (var i = 0; i < 10_000; i++)
            {
                events.Add(new DragonEvent());
            }

            events[9_999].Set();
            Assert.True(events[9_999].IsSet());
            Assert.False(events[0].IsSet());
            var fdsAfter = Directory.GetFiles("/proc/self/fd").Length;
            Assert.True(fdsAfter - fdsBefore < 100, $"10,000 events took {fdsAfter - fdsBefore} more descriptors");
            Assert.InRange(SlabFiles().Length, 3, 3);

            // Mapped, not held open: neither this process nor its node service (hosted here) has a slab file open.
            var open = Directory.GetFiles("/proc/self/fd")
                .Select(fd => new FileInfo(fd).LinkTarget)
                .Where(target => target is not null && target.StartsWith("/dev/shm/", StringComparison.Ordinal) && target.Contains("-sync", StringComparison.Ordinal))
                .ToArray();
            Assert.Empty(open);
        }
        finally
        {
            foreach (var e in events)
            {
                e.Dispose();
            }
        }
    }

    [Fact]
    public void RunEnd_WithObjectsLive_RemovesTheSlabFiles()
    {
        string[] during;
        using (var runtime = LocalRuntime.Start())
        {
            var @event = new DragonEvent();
            var @lock = new DragonLock();
            @lock.Acquire();
            @event.Set();
            during = SlabFiles();
            Assert.Single(during);
        }

        Assert.All(during, path => Assert.False(File.Exists(path), $"{path} outlived the run"));
    }

    private static string[] SlabFiles(int node = 0) =>
        Directory.GetFiles("/dev/shm", $"{RuntimeEnvironment.ShmPrefix(SystemInfo.RunId)}-n{node}-sync*");
}
