using System.Runtime.InteropServices;

namespace Dragon.Channels.Internal;

/// <summary>
/// A shared mapping of a whole file, made with mmap(2) directly so the file descriptor is closed as soon as the mapping
/// exists (a <c>MemoryMappedFile</c> keeps it open for its life: one descriptor per ring in every process that uses
/// it). Pages are backed on demand with <c>MADV_POPULATE_WRITE</c>, which reports a full tmpfs as an error where a
/// first touch of an unbacked page would kill the process with SIGBUS.
/// </summary>
internal static unsafe partial class SharedMapping
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int MapShared = 1;
    private const int MadvPopulateWrite = 23;
    private const int EINVAL = 22;

    private static readonly long s_pageSize = Environment.SystemPageSize;

    /// <summary>Maps <paramref name="length"/> bytes of the open file shared; the caller may close the file afterwards.</summary>
    public static byte* Map(SafeHandle file, long length, string path)
    {
        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var address = mmap(0, (nuint)length, ProtRead | ProtWrite, MapShared, (int)file.DangerousGetHandle(), 0);
            if (address == -1)
            {
                throw new IOException($"cannot map shared-memory file '{path}' ({length} bytes): {Marshal.GetLastPInvokeErrorMessage()}");
            }

            return (byte*)address;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    public static void Unmap(byte* address, long length) => _ = munmap((nint)address, (nuint)length);

    /// <summary>
    /// Backs bytes [<paramref name="start"/>, <paramref name="end"/>) of a mapping with memory now (whole pages).
    /// Returns false when the file system has no room (a full /dev/shm); true on kernels without the advice (before
    /// Linux 5.14), where pages stay backed on first touch as before.
    /// </summary>
    public static bool TryBack(byte* mapping, long start, long end)
    {
        var first = start / s_pageSize * s_pageSize;
        var last = (end + s_pageSize - 1) / s_pageSize * s_pageSize;
        if (last <= first)
        {
            return true;
        }

        if (madvise((nint)(mapping + first), (nuint)(last - first), MadvPopulateWrite) == 0)
        {
            return true;
        }

        if (Marshal.GetLastPInvokeError() == EINVAL)
        {
            s_populates = false;
            return true;
        }

        return false;
    }

    private static volatile bool s_populates = true;

    /// <summary>
    /// Whether <see cref="TryBack"/> backs pages here (false on kernels without <c>MADV_POPULATE_WRITE</c>, seen at
    /// its first use): only then may a range it said backed be read without the risk of a hole.
    /// </summary>
    public static bool Populates => s_populates;

    /// <summary>
    /// Reads one byte of every page of bytes [<paramref name="start"/>, <paramref name="end"/>) of a mapping, so that
    /// this process's first access to each page is paid here, not by the operation that lands on it. Populating a
    /// range fills the kernel's page tables, but under a hypervisor that keeps page tables of its own (shadow paging,
    /// as on the benchmark machine) each process's first access to each page still exits to the hypervisor, about
    /// 6 us a page even for a populated page (docs/performance.md); on bare metal this is one cache miss a page. A
    /// read is enough: the kernel's entry is already writable, so a later write does not exit again. Only for a
    /// range <see cref="TryBack"/> backed where it <see cref="Populates"/>: a read of a hole would allocate a page,
    /// and on a full /dev/shm that is a SIGBUS.
    /// </summary>
    public static void Touch(byte* mapping, long start, long end)
    {
        var sum = 0;
        for (var page = (start + s_pageSize - 1) / s_pageSize * s_pageSize; page < end; page += s_pageSize)
        {
            sum += Volatile.Read(ref mapping[page]);
        }

        GC.KeepAlive(sum);
    }

    /// <summary>
    /// Reads the first bytes of a file into <paramref name="into"/> with plain open/pread/close: no mapping, and none
    /// of the advisory lock a <see cref="FileStream"/> takes. False when the file is gone or shorter.
    /// </summary>
    public static bool TryReadStart(string path, Span<byte> into)
    {
        var fd = open(path, OpenReadOnly | OpenCloseOnExec);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            fixed (byte* buffer = into)
            {
                return pread(fd, buffer, (nuint)into.Length, 0) == into.Length;
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    private const int OpenReadOnly = 0;
    private const int OpenCloseOnExec = 0x80000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint pread(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
