using System.Runtime.InteropServices;

namespace Dragon.Services.Pmi;

/// <summary>
/// The registration calls of a PMIx job (namespace, clients, fork environment), with the native memory each needs
/// kept alive until libpmix calls back: register_nspace and register_client read their arguments on libpmix's thread.
/// </summary>
internal static class PmixRegistration
{
    /// <summary>PMIx_server_register_nspace with <paramref name="info"/>; completes with the status libpmix reports.</summary>
    public static async Task RegisterNamespaceAsync(string nspace, int localCount, PmixInfoList info)
    {
        var array = ToNativeArray(info);
        var name = Marshal.StringToCoTaskMemUTF8(nspace);
        try
        {
            var status = await PmixCall.RunAsync(StartRegisterNamespace(name, localCount, array)).ConfigureAwait(false);
            PmixCall.ThrowIfFailed(status, $"PMIx_server_register_nspace({nspace})");
        }
        finally
        {
            FreeNativeArray(array);
            Marshal.ZeroFreeCoTaskMemUTF8(name);
        }
    }

    /// <summary>PMIx_server_register_client for one rank, as this process's user.</summary>
    public static async Task RegisterClientAsync(string nspace, int rank)
    {
        var proc = NativeProc(nspace, rank);
        try
        {
            var status = await PmixCall.RunAsync(StartRegisterClient(proc)).ConfigureAwait(false);
            PmixCall.ThrowIfFailed(status, $"PMIx_server_register_client({nspace}, rank {rank})");
        }
        finally
        {
            Marshal.FreeHGlobal(proc);
        }
    }

    private static unsafe nint ToNativeArray(PmixInfoList info)
    {
        var array = Marshal.AllocHGlobal(sizeof(PmixNative.DataArray));
        *(PmixNative.DataArray*)array = info.ToArray();
        return array;
    }

    private static unsafe void FreeNativeArray(nint array)
    {
        PmixNative.PMIx_Data_array_destruct((PmixNative.DataArray*)array);
        Marshal.FreeHGlobal(array);
    }

    private static unsafe nint NativeProc(string nspace, int rank)
    {
        var proc = Marshal.AllocHGlobal(sizeof(PmixNative.Proc));
        *(PmixNative.Proc*)proc = PmixNative.Proc.Of(nspace, rank);
        return proc;
    }

    private static unsafe PmixStart StartRegisterNamespace(nint name, int localCount, nint array) => (cb, data) =>
    {
        var a = (PmixNative.DataArray*)array;
        return PmixNative.PMIx_server_register_nspace((byte*)name, localCount, a->Array, a->Size, cb, data);
    };

    private static unsafe PmixStart StartRegisterClient(nint proc) => (cb, data) =>
        PmixNative.PMIx_server_register_client((PmixNative.Proc*)proc, (uint)Spawning.Native.getuid(), Spawning.Native.getgid(), null, cb, data);

    /// <summary>The variables PMIx_server_setup_fork sets for a registered rank (PMIX_NAMESPACE, PMIX_RANK, the server URI, ...).</summary>
    public static unsafe Dictionary<string, string> ForkEnvironment(string nspace, int rank)
    {
        var proc = PmixNative.Proc.Of(nspace, rank);
        byte** env = null;
        var status = PmixNative.PMIx_server_setup_fork(&proc, &env);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var entry = env; entry is not null && *entry is not null; entry++)
        {
            var text = Marshal.PtrToStringUTF8((nint)(*entry)) ?? string.Empty;
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                environment[text[..equals]] = text[(equals + 1)..];
            }
            NativeMemory.Free(*entry);
        }
        NativeMemory.Free(env);
        PmixCall.ThrowIfFailed(status, $"PMIx_server_setup_fork({nspace}, rank {rank})");
        return environment;
    }

    /// <summary>PMIx_server_deregister_nspace, which also drops the namespace's clients; libpmix completes it on its own.</summary>
    public static unsafe void DeregisterNamespace(string nspace)
    {
        var name = Marshal.StringToCoTaskMemUTF8(nspace);
        try
        {
            PmixNative.PMIx_server_deregister_nspace((byte*)name, null, null);
        }
        finally
        {
            Marshal.ZeroFreeCoTaskMemUTF8(name);
        }
    }
}
