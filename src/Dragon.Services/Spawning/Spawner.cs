using System.Runtime.InteropServices;
using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Services.Spawning;

/// <summary>What the parent keeps of a new child: its pid and the parent ends of its pipes (-1 when not piped).</summary>
internal readonly record struct SpawnedChild(int Pid, int StdinWrite, int StdoutRead, int StderrRead);

/// <summary>A spawn that failed for a reason the user can fix; the message names the thing.</summary>
internal sealed class SpawnException(string message) : Exception(message);

/// <summary>
/// Starts children with posix_spawn: each in its own session (so it and its descendants can be signalled as one
/// process group), default signal dispositions and an empty mask (the .NET runtime ignores SIGPIPE and blocks
/// others; children must not inherit that), pipes wired with file actions. Every descriptor the service opens
/// is close-on-exec, so children spawned at the same moment from other threads inherit none of them.
/// </summary>
internal static unsafe class Spawner
{
    private static readonly System.Threading.Lock s_affinityLock = new();

    /// <param name="executable">Absolute path, already checked to exist and be executable.</param>
    /// <param name="argv">argv[0] first.</param>
    /// <param name="env">The child's whole environment.</param>
    /// <param name="cwd">Working directory, or null to keep the service's.</param>
    /// <param name="stdin">stdin wiring; Inherit and Stdout keep fd 0 as it is.</param>
    /// <param name="stdout">stdout wiring; Inherit keeps fd 1 unless <paramref name="captureInherited"/>.</param>
    /// <param name="stderr">stderr wiring.</param>
    /// <param name="captureInherited">Pipe inherited output too (to label it, or to forward it off the node).</param>
    /// <param name="cpus">CPUs to bind the child to, or null.</param>
    /// <param name="pass">
    /// A close-on-exec descriptor of the caller's to hand to this child only, at number <c>As</c> (above 2); the
    /// caller keeps and closes its own copy. Children spawned at the same moment do not inherit it.
    /// </param>
    public static SpawnedChild Spawn(
        string executable, IReadOnlyList<string> argv, IReadOnlyList<string> env, string? cwd,
        StdioSpec stdin, StdioSpec stdout, StdioSpec stderr, bool captureInherited, int[]? cpus,
        (int Fd, int As)? pass = null)
    {
        if (pass is { } given && (given.Fd < 0 || given.As <= 2))
        {
            throw new ArgumentOutOfRangeException(nameof(pass), $"cannot pass descriptor {given.Fd} as {given.As}: the target must be above stderr");
        }

        var toClose = new List<int>();
        int stdinWrite = -1, stdoutRead = -1, stderrRead = -1;
        var fileActions = NativeMemory.AllocZeroed(Native.SpawnStructBytes);
        var attr = NativeMemory.AllocZeroed(Native.SpawnStructBytes);
        var sigset = NativeMemory.AllocZeroed(256);
        var strings = new List<nint>();
        try
        {
            _ = Native.posix_spawn_file_actions_init(fileActions);
            _ = Native.posix_spawnattr_init(attr);

            stdinWrite = Wire(fileActions, 0, stdin, input: true, captureInherited: false, toClose);
            stdoutRead = Wire(fileActions, 1, stdout, input: false, captureInherited, toClose);
            if (stderr.Kind == StdioKind.Stdout)
            {
                _ = Native.posix_spawn_file_actions_adddup2(fileActions, 1, 2);
            }
            else
            {
                stderrRead = Wire(fileActions, 2, stderr, input: false, captureInherited, toClose);
            }

            if (pass is { } passed)
            {
                // Last, after stdio: a pipe end wired above may have had number As. dup2 clears close-on-exec on
                // the child's copy only (glibc also clears it when Fd == As), so only this child inherits it.
                _ = Native.posix_spawn_file_actions_adddup2(fileActions, passed.Fd, passed.As);
            }

            if (cwd is not null)
            {
                var cwdBytes = Utf8(cwd, strings);
                _ = Native.posix_spawn_file_actions_addchdir_np(fileActions, cwdBytes);
            }

            _ = Native.posix_spawnattr_setflags(attr, (short)(Native.POSIX_SPAWN_SETSID | Native.POSIX_SPAWN_SETSIGDEF | Native.POSIX_SPAWN_SETSIGMASK));
            _ = Native.sigfillset(sigset);
            _ = Native.posix_spawnattr_setsigdefault(attr, sigset);
            _ = Native.sigemptyset(sigset);
            _ = Native.posix_spawnattr_setsigmask(attr, sigset);

            var path = Utf8(executable, strings);
            var argvPtr = StringArray(argv, strings);
            var envPtr = StringArray(env, strings);
            int pid, rc;
            if (cpus is { Length: > 0 })
            {
                // posix_spawn children inherit the calling thread's affinity: bind this thread for the call only.
                lock (s_affinityLock)
                {
                    var old = stackalloc byte[128];
                    _ = Native.sched_getaffinity(0, 128, old);
                    var mask = stackalloc byte[128];
                    new Span<byte>(mask, 128).Clear();
                    foreach (var cpu in cpus)
                    {
                        mask[cpu / 8] |= (byte)(1 << (cpu % 8));
                    }

                    if (Native.sched_setaffinity(0, 128, mask) != 0)
                    {
                        throw new SpawnException($"cannot bind to CPUs {string.Join(',', cpus)}: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
                    }

                    rc = Native.posix_spawn(out pid, path, fileActions, attr, argvPtr, envPtr);
                    _ = Native.sched_setaffinity(0, 128, old);
                }
            }
            else
            {
                rc = Native.posix_spawn(out pid, path, fileActions, attr, argvPtr, envPtr);
            }

            if (rc != 0)
            {
                throw new SpawnException($"cannot start {executable}: {Native.ErrorText(rc)}");
            }

            return new SpawnedChild(pid, stdinWrite, stdoutRead, stderrRead);
        }
        catch
        {
            CloseIfOpen(stdinWrite);
            CloseIfOpen(stdoutRead);
            CloseIfOpen(stderrRead);
            throw;
        }
        finally
        {
            foreach (var fd in toClose)
            {
                _ = Native.close(fd);
            }

            foreach (var p in strings)
            {
                NativeMemory.Free((void*)p);
            }

            _ = Native.posix_spawn_file_actions_destroy(fileActions);
            _ = Native.posix_spawnattr_destroy(attr);
            NativeMemory.Free(fileActions);
            NativeMemory.Free(attr);
            NativeMemory.Free(sigset);
        }
    }

    /// <summary>Wires one standard fd; returns the parent's end of a pipe, or -1.</summary>
    private static int Wire(void* fileActions, int target, StdioSpec spec, bool input, bool captureInherited, List<int> toClose)
    {
        switch (spec.Kind)
        {
            case StdioKind.Inherit when !captureInherited || input:
                return -1;
            case StdioKind.DevNull:
                return DupFile(fileActions, "/dev/null", input ? Native.O_RDONLY : Native.O_WRONLY, target, toClose);
            case StdioKind.File:
                return DupFile(fileActions, spec.Path!, input ? Native.O_RDONLY : Native.O_WRONLY | Native.O_CREAT | Native.O_TRUNC, target, toClose);
            default:
                var fds = stackalloc int[2];
                if (Native.pipe2(fds, Native.O_CLOEXEC) != 0)
                {
                    throw new SpawnException($"cannot create a pipe: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
                }

                var (childEnd, parentEnd) = input ? (fds[0], fds[1]) : (fds[1], fds[0]);
                toClose.Add(childEnd);
                _ = Native.posix_spawn_file_actions_adddup2(fileActions, childEnd, target);
                return parentEnd;
        }
    }

    private static int DupFile(void* fileActions, string path, int flags, int target, List<int> toClose)
    {
        var fd = Native.open(path, flags | Native.O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd < 0)
        {
            throw new SpawnException($"cannot open {path} for {(target == 0 ? "stdin" : target == 1 ? "stdout" : "stderr")}: {Native.ErrorText(Marshal.GetLastPInvokeError())}");
        }

        toClose.Add(fd);
        _ = Native.posix_spawn_file_actions_adddup2(fileActions, fd, target);
        return -1;
    }

    private static byte* Utf8(string s, List<nint> owned)
    {
        var count = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)count + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, count));
        p[count] = 0;
        owned.Add((nint)p);
        return p;
    }

    private static byte** StringArray(IReadOnlyList<string> items, List<nint> owned)
    {
        var array = (byte**)NativeMemory.Alloc((nuint)(sizeof(nint) * (items.Count + 1)));
        owned.Add((nint)array);
        for (var i = 0; i < items.Count; i++)
        {
            array[i] = Utf8(items[i], owned);
        }

        array[items.Count] = null;
        return array;
    }

    private static void CloseIfOpen(int fd)
    {
        if (fd >= 0)
        {
            _ = Native.close(fd);
        }
    }
}
