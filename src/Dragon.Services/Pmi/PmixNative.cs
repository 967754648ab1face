using System.Runtime.InteropServices;
using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>
/// The calls into libpmix.so.2 (OpenPMIx 4.2, Debian's libpmix2) the embedded PMIx server needs, and the few
/// structures it hands across. The wire protocol stays inside libpmix: this file only starts its server, registers
/// jobs and ranks, and answers its upcalls. Layouts are those of pmix_common.h on x86-64 / aarch64 Linux.
/// </summary>
internal static unsafe partial class PmixNative
{
    private const string Library = "libpmix.so.2";

    public const int Success = 0;
    public const int Error = -1;
    public const int ErrNotFound = -46;
    public const int ErrNotSupported = -47;

    // pmix_data_type_t values used with PMIx_Info_list_add.
    public const ushort TypeBool = 1;
    public const ushort TypeString = 3;
    public const ushort TypeUInt16 = 13;
    public const ushort TypeUInt32 = 14;
    public const ushort TypeDataArray = 39;
    public const ushort TypeProcRank = 40;

    /// <summary>Bytes of pmix_nspace_t (PMIX_MAX_NSLEN + 1).</summary>
    public const int NspaceBytes = 256;

    /// <summary>pmix_server_module_t (v4) is 28 function pointers; these are the slots this server fills.</summary>
    public const int ModuleSlots = 28;
    public const int SlotClientConnected = 0;
    public const int SlotClientFinalized = 1;
    public const int SlotAbort = 2;
    public const int SlotFenceNb = 3;
    public const int SlotDirectModex = 4;

    /// <summary>pmix_proc_t: a namespace and a rank (260 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Proc
    {
        public fixed byte Nspace[NspaceBytes];
        public uint Rank;

        public static Proc Of(string nspace, int rank)
        {
            var proc = default(Proc);
            var bytes = Encoding.ASCII.GetBytes(nspace);
            if (bytes.Length >= NspaceBytes)
            {
                throw new ArgumentException($"PMIx namespace '{nspace}' is longer than {NspaceBytes - 1} bytes", nameof(nspace));
            }
            bytes.CopyTo(new Span<byte>(proc.Nspace, NspaceBytes));
            proc.Rank = (uint)rank;
            return proc;
        }

        public readonly string NspaceString()
        {
            fixed (byte* p = Nspace)
            {
                return Marshal.PtrToStringUTF8((nint)p) ?? string.Empty;
            }
        }
    }

    /// <summary>pmix_data_array_t: what PMIx_Info_list_convert fills (an array of pmix_info_t here).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct DataArray
    {
        public ushort Type;
        public nuint Size;
        public void* Array;
    }

    [LibraryImport(Library)]
    public static partial int PMIx_server_init(nint* module, void* info, nuint ninfo);

    [LibraryImport(Library)]
    public static partial int PMIx_server_finalize();

    [LibraryImport(Library)]
    public static partial int PMIx_server_register_nspace(byte* nspace, int nlocalprocs, void* info, nuint ninfo,
        delegate* unmanaged<int, void*, void> cbfunc, void* cbdata);

    [LibraryImport(Library)]
    public static partial void PMIx_server_deregister_nspace(byte* nspace, delegate* unmanaged<int, void*, void> cbfunc, void* cbdata);

    [LibraryImport(Library)]
    public static partial int PMIx_server_register_client(Proc* proc, uint uid, uint gid, void* serverObject,
        delegate* unmanaged<int, void*, void> cbfunc, void* cbdata);

    [LibraryImport(Library)]
    public static partial int PMIx_server_setup_fork(Proc* proc, byte*** env);

    [LibraryImport(Library)]
    public static partial int PMIx_generate_regex(byte* input, byte** regex);

    [LibraryImport(Library)]
    public static partial int PMIx_generate_ppn(byte* input, byte** ppn);

    [LibraryImport(Library)]
    public static partial void* PMIx_Info_list_start();

    [LibraryImport(Library)]
    public static partial int PMIx_Info_list_add(void* list, byte* key, void* value, ushort type);

    [LibraryImport(Library)]
    public static partial int PMIx_Info_list_convert(void* list, DataArray* array);

    [LibraryImport(Library)]
    public static partial void PMIx_Info_list_release(void* list);

    [LibraryImport(Library)]
    public static partial void PMIx_Data_array_destruct(DataArray* array);

    [LibraryImport(Library)]
    public static partial byte* PMIx_Error_string(int status);

    /// <summary>The library's name for a status code, for error messages.</summary>
    public static string ErrorString(int status)
    {
        try
        {
            return $"{Marshal.PtrToStringUTF8((nint)PMIx_Error_string(status))} ({status})";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"status {status}";
        }
    }
}
