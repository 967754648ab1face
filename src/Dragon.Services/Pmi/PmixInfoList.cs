using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>
/// A list of PMIx key/value pairs (pmix_info_t) built through libpmix's own loaders (PMIx_Info_list_*), so no
/// pmix_value_t union is ever laid out by hand. <see cref="ToArray"/> gives the pmix_info_t array a server call takes.
/// </summary>
internal sealed unsafe class PmixInfoList : IDisposable
{
    private void* _list = PmixNative.PMIx_Info_list_start();

    public PmixInfoList Add(string key, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* p = bytes)
        {
            Load(key, p, PmixNative.TypeString);
        }
        return this;
    }

    public PmixInfoList AddUInt32(string key, uint value)
    {
        Load(key, &value, PmixNative.TypeUInt32);
        return this;
    }

    public PmixInfoList AddUInt16(string key, ushort value)
    {
        Load(key, &value, PmixNative.TypeUInt16);
        return this;
    }

    public PmixInfoList AddRank(string key, int rank)
    {
        var value = (uint)rank;
        Load(key, &value, PmixNative.TypeProcRank);
        return this;
    }

    public PmixInfoList AddBool(string key, bool value)
    {
        var flag = value;
        Load(key, &flag, PmixNative.TypeBool);
        return this;
    }

    /// <summary>Adds <paramref name="inner"/> as one key whose value is an array of pmix_info_t (as PMIX_PROC_DATA wants).</summary>
    public PmixInfoList AddArray(string key, PmixInfoList inner)
    {
        var array = inner.ToArray();
        try
        {
            // The loader copies the array deeply, so ours is released at once.
            Load(key, &array, PmixNative.TypeDataArray);
        }
        finally
        {
            PmixNative.PMIx_Data_array_destruct(&array);
        }
        return this;
    }

    /// <summary>The pairs as a pmix_info_t array; the caller releases it with PMIx_Data_array_destruct.</summary>
    public PmixNative.DataArray ToArray()
    {
        ObjectDisposedException.ThrowIf(_list is null, this);
        PmixNative.DataArray array;
        int status = PmixNative.PMIx_Info_list_convert(_list, &array);
        if (status != PmixNative.Success)
        {
            throw new InvalidOperationException($"PMIx_Info_list_convert failed: {PmixNative.ErrorString(status)}");
        }
        return array;
    }

    public void Dispose()
    {
        if (_list is not null)
        {
            PmixNative.PMIx_Info_list_release(_list);
            _list = null;
        }
    }

    private void Load(string key, void* value, ushort type)
    {
        ObjectDisposedException.ThrowIf(_list is null, this);
        var keyBytes = Encoding.ASCII.GetBytes(key + "\0");
        fixed (byte* k = keyBytes)
        {
            int status = PmixNative.PMIx_Info_list_add(_list, k, value, type);
            if (status != PmixNative.Success)
            {
                throw new InvalidOperationException($"PMIx_Info_list_add({key}) failed: {PmixNative.ErrorString(status)}");
            }
        }
    }
}
