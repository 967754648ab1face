using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Dragon.Runtime.Protocol;
using Dragon.Services.Global;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>
/// The PMIx server Open MPI ranks talk to, embedded from libpmix.so.2 (the wire protocol, the shared-memory data
/// store and the rank sockets are all libpmix's). libpmix holds one server per process, so this is a process-wide
/// singleton: started by the first PMIx job of any node service in the process (<see cref="Acquire"/>) and finalized
/// when the process exits. It is not finalized when the last node service lets go (<see cref="Release"/>): libpmix
/// 4.2 cannot start a server again in a process that finalized one (the second start crashes inside the library), and
/// a process hosting runs one after another needs it for each. Its upcalls arrive on libpmix's progress
/// thread and are handed to the <see cref="PmixJob"/> whose namespace they name; each completion callback is called
/// exactly once, never from inside the upcall.
/// </summary>
internal sealed unsafe partial class PmixServer
{
    private static readonly System.Threading.Lock s_lock = new();
    private static PmixServer? s_current;
    private static int s_users;
    private static bool s_finalized;

    private readonly ConcurrentDictionary<string, PmixJob> _jobs = new(StringComparer.Ordinal);

    private PmixServer(string directory) => Directory = directory;

    /// <summary>Where libpmix keeps its rendezvous files; removed when the process exits.</summary>
    public string Directory { get; }

    /// <summary>The server, started now if this process has none yet; pair with <see cref="Release"/>.</summary>
    /// <exception cref="ServiceException">libpmix.so.2 is missing or its server did not start.</exception>
    public static PmixServer Acquire(ILogger logger, string nodeName)
    {
        lock (s_lock)
        {
            if (s_finalized)
            {
                throw new ServiceException(ErrorKind.StartFailed, $"the PMIx server of this process on node {nodeName} was finalized as the process exits");
            }
            if (s_current is null)
            {
                s_current = Start(logger, nodeName);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => FinalizeAtExit();
            }
            s_users++;
            return s_current;
        }
    }

    /// <summary>One user lets go; the server stays for the next PMIx job of the process (see the class remarks).</summary>
    public static void Release()
    {
        lock (s_lock)
        {
            if (s_users > 0)
            {
                s_users--;
            }
        }
    }

    private static void FinalizeAtExit()
    {
        lock (s_lock)
        {
            if (s_current is not { } server || s_finalized)
            {
                return;
            }
            // Not logged: the run that started the server may have closed its log files long ago.
            s_finalized = true;
            PmixNative.PMIx_server_finalize();
            try
            {
                System.IO.Directory.Delete(server.Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static PmixServer Start(ILogger logger, string nodeName)
    {
        var directory = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"dragon-pmix-{Environment.ProcessId}"));
        System.IO.Directory.CreateDirectory(directory);
        var module = (nint*)NativeMemory.AllocZeroed(PmixNative.ModuleSlots, (nuint)sizeof(nint));
        module[PmixNative.SlotClientConnected] = (nint)(delegate* unmanaged<PmixNative.Proc*, void*, nint, void*, int>)&ClientConnected;
        module[PmixNative.SlotClientFinalized] = (nint)(delegate* unmanaged<PmixNative.Proc*, void*, nint, void*, int>)&ClientFinalized;
        module[PmixNative.SlotAbort] = (nint)(delegate* unmanaged<PmixNative.Proc*, void*, int, byte*, PmixNative.Proc*, nuint, nint, void*, int>)&Abort;
        module[PmixNative.SlotFenceNb] = (nint)(delegate* unmanaged<PmixNative.Proc*, nuint, void*, nuint, byte*, nuint, nint, void*, int>)&FenceNb;
        module[PmixNative.SlotDirectModex] = (nint)(delegate* unmanaged<PmixNative.Proc*, void*, nuint, nint, void*, int>)&DirectModex;
        int status;
        try
        {
            using var info = new PmixInfoList()
                .Add(PmixKeys.ServerTmpDir, directory)
                .Add(PmixKeys.SystemTmpDir, directory)
                .AddBool(PmixKeys.ServerToolSupport, false)
                .AddBool(PmixKeys.ServerSystemSupport, false);
            var array = info.ToArray();
            try
            {
                status = PmixNative.PMIx_server_init(module, array.Array, array.Size);
            }
            finally
            {
                PmixNative.PMIx_Data_array_destruct(&array);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            NativeMemory.Free(module);
            System.IO.Directory.Delete(directory, recursive: true);
            throw new ServiceException(ErrorKind.StartFailed,
                $"an Open MPI (PMIx) job needs libpmix.so.2 on node {nodeName} (Debian package libpmix2): {e.Message}");
        }
        if (status != PmixNative.Success)
        {
            NativeMemory.Free(module);
            System.IO.Directory.Delete(directory, recursive: true);
            throw new ServiceException(ErrorKind.StartFailed, $"the PMIx server on node {nodeName} did not start: PMIx_server_init returned {PmixNative.ErrorString(status)}");
        }
        PmixLog.ServerStarted(logger, directory);
        // The module stays allocated for the life of the process: libpmix keeps calling through it.
        return new PmixServer(directory);
    }

    /// <summary>Makes <paramref name="job"/> the receiver of its namespace's upcalls.</summary>
    /// <exception cref="ServiceException">The namespace is served already: two nodes of one job in one process.</exception>
    internal void Add(PmixJob job)
    {
        if (!_jobs.TryAdd(job.Nspace, job))
        {
            throw new ServiceException(ErrorKind.InvalidArgument,
                $"PMIx namespace {job.Nspace} is already served by this process: libpmix serves one server per process, so an Open MPI job cannot span two nodes hosted by one process (--local-nodes); use one node or real hosts");
        }
    }

    internal void Remove(PmixJob job) => _jobs.TryRemove(new KeyValuePair<string, PmixJob>(job.Nspace, job));

    private static PmixJob? JobOf(PmixNative.Proc* proc) =>
        proc is not null && s_current is { } server && server._jobs.TryGetValue(proc->NspaceString(), out var job) ? job : null;

    /// <summary>Calls a pmix_op_cbfunc_t off libpmix's thread, as the library expects of an asynchronous answer.</summary>
    internal static void CompleteLater(nint cbfunc, nint cbdata, int status)
    {
        if (cbfunc == 0)
        {
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var (function, data, code) = state;
            ((delegate* unmanaged<int, void*, void>)function)(code, (void*)data);
        }, (cbfunc, cbdata, status), preferLocal: false);
    }

    [UnmanagedCallersOnly]
    private static int ClientConnected(PmixNative.Proc* proc, void* serverObject, nint cbfunc, void* cbdata)
    {
        JobOf(proc)?.OnConnected((int)proc->Rank);
        CompleteLater(cbfunc, (nint)cbdata, PmixNative.Success);
        return PmixNative.Success;
    }

    [UnmanagedCallersOnly]
    private static int ClientFinalized(PmixNative.Proc* proc, void* serverObject, nint cbfunc, void* cbdata)
    {
        JobOf(proc)?.OnFinalized((int)proc->Rank);
        CompleteLater(cbfunc, (nint)cbdata, PmixNative.Success);
        return PmixNative.Success;
    }

    [UnmanagedCallersOnly]
    private static int Abort(PmixNative.Proc* proc, void* serverObject, int status, byte* message, PmixNative.Proc* procs, nuint nprocs, nint cbfunc, void* cbdata)
    {
        if (JobOf(proc) is not { } job)
        {
            return PmixNative.ErrNotFound;
        }
        // The aborting rank stays blocked in PMIx_Abort until the job kills it (as under hydra); the answer goes
        // back when the job closes, so libpmix can release what it holds for the request.
        job.OnAbort((int)proc->Rank, status, message is null ? null : Marshal.PtrToStringUTF8((nint)message), cbfunc, (nint)cbdata);
        return PmixNative.Success;
    }

    [UnmanagedCallersOnly]
    private static int FenceNb(PmixNative.Proc* procs, nuint nprocs, void* info, nuint ninfo, byte* data, nuint ndata, nint cbfunc, void* cbdata)
    {
        if (nprocs == 0 || JobOf(procs) is not { } job)
        {
            return PmixNative.ErrNotFound;
        }
        // libpmix may free its buffer once this returns: keep a copy for the exchange.
        var local = new ReadOnlySpan<byte>(data, checked((int)ndata)).ToArray();
        _ = CompleteFenceAsync(job, local, cbfunc, (nint)cbdata);
        return PmixNative.Success;
    }

    /// <summary>Hands gathered data to a pmix_modex_cbfunc_t in memory of ours, released by libpmix through <see cref="FreeBuffer"/>.</summary>
    private static void ReturnModex(nint cbfunc, nint cbdata, byte[]? data)
    {
        var modex = (delegate* unmanaged<int, byte*, nuint, void*, delegate* unmanaged<void*, void>, void*, void>)cbfunc;
        if (data is null)
        {
            modex(PmixNative.Error, null, 0, (void*)cbdata, null, null);
            return;
        }
        var buffer = (byte*)NativeMemory.Alloc((nuint)Math.Max(data.Length, 1));
        data.CopyTo(new Span<byte>(buffer, data.Length));
        modex(PmixNative.Success, buffer, (nuint)data.Length, (void*)cbdata, &FreeBuffer, buffer);
    }

    [UnmanagedCallersOnly]
    private static void FreeBuffer(void* buffer) => NativeMemory.Free(buffer);

    // Data is exchanged in full at every fence (Open MPI 4.1 collects by default); a lazy lookup of a rank on
    // another node is not served, and libpmix reports it as not found to the rank.
    [UnmanagedCallersOnly]
    private static int DirectModex(PmixNative.Proc* proc, void* info, nuint ninfo, nint cbfunc, void* cbdata) => PmixNative.ErrNotSupported;
}
