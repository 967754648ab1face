using System.Runtime.InteropServices;

namespace Dragon.Services.Pmi;

/// <summary>Starts a non-blocking libpmix call given its completion function and data.</summary>
internal unsafe delegate int PmixStart(delegate* unmanaged<int, void*, void> cbfunc, void* cbdata);

/// <summary>Non-blocking libpmix calls as tasks: the pmix_op_cbfunc_t completes the task from libpmix's thread.</summary>
internal static unsafe class PmixCall
{
    /// <summary>The call completed at once and will not call back (PMIX_OPERATION_SUCCEEDED).</summary>
    private const int OperationSucceeded = -157;

    /// <summary>Runs <paramref name="start"/>; completes with the status its callback reports, or the one it returned at once.</summary>
    public static Task<int> RunAsync(PmixStart start)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handle = GCHandle.Alloc(done);
        int status;
        try
        {
            status = start(&OnDone, (void*)GCHandle.ToIntPtr(handle));
        }
        catch
        {
            handle.Free();
            throw;
        }
        if (status != PmixNative.Success)
        {
            // No callback comes: the call failed, or finished inside.
            handle.Free();
            return Task.FromResult(status == OperationSucceeded ? PmixNative.Success : status);
        }
        return done.Task;
    }

    public static void ThrowIfFailed(int status, string call)
    {
        if (status != PmixNative.Success)
        {
            throw new InvalidOperationException($"{call} failed: {PmixNative.ErrorString(status)}");
        }
    }

    [UnmanagedCallersOnly]
    private static void OnDone(int status, void* cbdata)
    {
        var handle = GCHandle.FromIntPtr((nint)cbdata);
        var done = (TaskCompletionSource<int>)handle.Target!;
        handle.Free();
        done.TrySetResult(status);
    }
}
