using System.IO.MemoryMappedFiles;
using Dragon.Channels.Internal;
using Dragon.Services.Objects;
using Dragon.Sync.Internal;
using Xunit;

namespace Dragon.Tests.Sync;

/// <summary>
/// A barrier's block in a slab of its own (real /dev/shm files, removed at the end), driven as the home node service
/// drives it when processes exit: the case no process test can time, a process killed inside the block's spin lock.
/// </summary>
public sealed class BarrierCellTests
{
    private const ulong Waiter = 7;
    private const ulong Dead = 9;

    [Fact]
    public void BarrierOnProcessExited_DiedHoldingTheLock_LockTakenOverAndTheWaiterBrokenNamingIt()
    {
        var prefix = $"dragon-barriercell-{Guid.NewGuid():N}";
        using (var slab = new SyncSlab(prefix, 0))
        {
            var (cell, path, offset, _) = slab.AllocateBarrier(77, 3);
            var deadline = WaitDeadline.From(TimeSpan.FromSeconds(30));
            Assert.Equal(BarrierOutcome.Waiting, cell.Arrive(Waiter, (long)Waiter, ref deadline, default, out var entry));
            var waited = BarrierOutcome.Waiting;
            var reason = 0;
            var waiter = new Thread(() =>
            {
                var left = WaitDeadline.From(TimeSpan.FromSeconds(30));
                waited = cell.Await(entry, (long)Waiter, ref left, default, out reason);
            });
            waiter.Start();

            // Process 9 dies inside a section: its tag stays in the lock word (offset 16 of the header).
            using (var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite))
            using (var view = file.CreateViewAccessor(offset, SyncSlot.Size))
            {
                view.Write(16, (long)Dead);
            }

            // Another exit handled first must not wait for the lock of a process whose exit comes later.
            Assert.Equal(BarrierCell.Busy, cell.OnProcessExited(Waiter, reclaim: false));
            Assert.False(waiter.Join(100), "the waiter ended while the barrier was neither passed nor broken");

            Assert.Equal(1, cell.OnProcessExited(Dead, reclaim: true));
            Assert.True(waiter.Join(TimeSpan.FromSeconds(5)), "the waiter did not wake when the barrier broke");
            Assert.Equal(BarrierOutcome.Broken, waited);
            Assert.Equal(BarrierBreak.PartyDied, (BarrierBreak)reason);
            Assert.Equal($"party puid {Dead} died while waiting", cell.Explain((BarrierBreak)reason));

            // The lock is free again: an arrival sees the barrier broken; after a reset it waits again.
            deadline = WaitDeadline.From(TimeSpan.Zero);
            Assert.Equal(BarrierOutcome.Broken, cell.Arrive(Waiter, (long)Waiter, ref deadline, default, out _));
            Assert.True(cell.Reset((long)Waiter));
            Assert.Equal(1, cell.Generation);
            Assert.Equal(BarrierOutcome.Waiting, cell.Arrive(Waiter, (long)Waiter, ref deadline, default, out entry));
            Assert.Equal(BarrierOutcome.TimedOut, cell.Await(entry, (long)Waiter, ref deadline, default, out _));

            // A process that left nothing in the block changes nothing.
            Assert.Equal(-1, cell.OnProcessExited(Dead + 1, reclaim: true));
        }

        Assert.Empty(Directory.GetFiles("/dev/shm", prefix + "*"));
    }
}
