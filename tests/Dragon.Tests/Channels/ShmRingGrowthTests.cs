using System.Diagnostics;
using Dragon.Channels.Internal;
using Xunit;

namespace Dragon.Tests.Channels;

/// <summary>
/// A ring's file is sparse and backed as it is used (doubling), a full /dev/shm fails a send with a clear error instead
/// of killing the process, and no process holds a file descriptor per ring.
/// </summary>
public sealed class ShmRingGrowthTests
{
    private const int Slots = 1024;
    private const int SlotSize = 1000;

    [Fact]
    public async Task Create_LargeRing_BacksOnlyItsFirstSlots_ThenGrowsWithUseToItsSize()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(Slots, SlotSize);
        var size = new FileInfo(ring.Path).Length;
        Assert.True(size > 1_000_000, $"the ring is {size} bytes long");
        Assert.InRange(AllocatedBytes(ring.Path), 1, 80 * 1024);

        var payload = new byte[SlotSize];
        for (var i = 0; i < 300; i++)
        {
            payload.AsSpan().Fill((byte)i);
            Assert.True(ring.TrySend(payload, TimeSpan.Zero));
        }

        // 300 slots written: backed past them (doubling from the first 64 KiB), not the whole ring.
        var afterThreeHundred = AllocatedBytes(ring.Path);
        Assert.InRange(afterThreeHundred, 300L * SlotSize, size - (100L * SlotSize));

        for (var i = 0; i < 300; i++)
        {
            var message = ring.TryReceive(TimeSpan.Zero);
            Assert.NotNull(message);
            Assert.All(message!, b => Assert.Equal((byte)i, b));
        }

        // A full lap (and a message larger than the ring, which streams through it) backs every slot, and no more.
        var large = new byte[(Slots + 10) * SlotSize];
        Random.Shared.NextBytes(large);
        var received = Task.Run(() => ring.TryReceive(TimeSpan.FromSeconds(30)));
        Assert.True(ring.TrySend(large, TimeSpan.FromSeconds(30)));
        Assert.Equal(large, await received);
        Assert.InRange(AllocatedBytes(ring.Path), size - 4096, size + 4096);
    }

    [Fact]
    public void Rings_Mapped_HoldNoFileDescriptor()
    {
        using var scope = new ShmRingScope();
        var ring = scope.Create(64, 128);
        var other = scope.Open(ring.Path);
        Assert.True(ring.TrySend("x"u8, TimeSpan.Zero));
        Assert.Equal("x"u8.ToArray(), other.TryReceive(TimeSpan.Zero));

        var open = Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).Where(t => t == ring.Path).ToArray();
        Assert.Empty(open);
    }

    [Fact]
    public void Send_SharedMemoryFull_FailsNamingTheRing_AndKeepsWhatItHolds()
    {
        // A 128 KiB tmpfs stands for a full /dev/shm: the ring's 1 MB cannot all be backed.
        var mount = Directory.CreateTempSubdirectory("dragon-shmfull").FullName;
        Run("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mount);
        try
        {
            var path = Path.Combine(mount, "ring");
            using (var ring = ShmRing.Create(path, Slots, SlotSize))
            {
                var payload = new byte[SlotSize];
                var sent = 0;
                IOException? full = null;
                while (full is null && sent < Slots)
                {
                    payload.AsSpan().Fill((byte)sent);
                    try
                    {
                        Assert.True(ring.TrySend(payload, TimeSpan.Zero));
                        sent++;
                    }
                    catch (IOException e)
                    {
                        full = e;
                    }
                }

                Assert.NotNull(full);
                Assert.Contains("shared memory is full", full!.Message, StringComparison.Ordinal);
                Assert.Contains(path, full.Message, StringComparison.Ordinal);
                Assert.InRange(sent, 32, 130);

                for (var i = 0; i < sent; i++)
                {
                    var message = ring.TryReceive(TimeSpan.Zero);
                    Assert.NotNull(message);
                    Assert.All(message!, b => Assert.Equal((byte)i, b));
                }

                Assert.Null(ring.TryReceive(TimeSpan.Zero));
                ring.Unlink();
            }
        }
        finally
        {
            Run("umount", mount);
            Directory.Delete(mount);
        }
    }

    /// <summary>Bytes the file system backs for the file (st_blocks x 512).</summary>
    private static long AllocatedBytes(string path) => long.Parse(Run("stat", "-c", "%b", path).Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;

    private static string Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {process.ExitCode}: {error}");
        return output;
    }
}
