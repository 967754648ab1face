using System.Runtime.InteropServices;

namespace Dragon.Channels.Internal;

/// <summary>
/// Linux futex wait and wake on a 32-bit word in shared memory. These are the shared (not
/// FUTEX_PRIVATE) operations: the kernel keys the waiters on the mapped file and offset, so a
/// waker in one process reaches a waiter in another.
/// </summary>
internal static unsafe partial class Futex
{
    private const long SysFutex = 202; // x86_64
    private const int FutexWaitOp = 0;
    private const int FutexWakeOp = 1;
    private const int ETimedOut = 110;
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>
    /// Sleeps while <paramref name="word"/> still holds <paramref name="expected"/>, for at most
    /// <paramref name="timeoutNanoseconds"/>. Returns false only when the time ran out; a wake, a
    /// changed value or a signal all return true, and the caller re-checks its condition.
    /// </summary>
    public static bool Wait(int* word, int expected, long timeoutNanoseconds)
    {
        var timeout = new Timespec
        {
            Seconds = timeoutNanoseconds / NanosecondsPerSecond,
            Nanoseconds = timeoutNanoseconds % NanosecondsPerSecond,
        };
        var result = SyscallWait(SysFutex, word, FutexWaitOp, expected, &timeout, null, 0);
        return result == 0 || Marshal.GetLastPInvokeError() != ETimedOut;
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters sleeping on <paramref name="word"/>.</summary>
    public static void Wake(int* word, int count) => SyscallWake(SysFutex, word, FutexWakeOp, count, null, null, 0);

    // syscall(2) is variadic in C; on x86_64 passing the integer arguments as fixed parameters
    // lands them in the same registers (and the 7th on the stack), which is what glibc reads.
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallWait(long number, int* word, int operation, int value, Timespec* timeout, int* word2, int value3);

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long SyscallWake(long number, int* word, int operation, int value, Timespec* timeout, int* word2, int value3);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
