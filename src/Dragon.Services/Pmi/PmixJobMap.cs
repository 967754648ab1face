using System.Runtime.InteropServices;

namespace Dragon.Services.Pmi;

/// <summary>
/// Where the ranks of a PMIx job are, as PMIx numbers it: the job's nodes (node ids 0..n-1 in runtime node order),
/// the ranks on each, and the node and proc maps in libpmix's own compressed form (PMIx_generate_regex/_ppn).
/// </summary>
internal sealed unsafe class PmixJobMap
{
    private readonly int[] _jobNodes;
    private readonly int[] _nodeOfRank;

    private PmixJobMap(int[] nodeOfRank, int[] jobNodes, string[] names)
    {
        _nodeOfRank = nodeOfRank;
        _jobNodes = jobNodes;
        Names = names;
        NodeMapInput = string.Join(',', names);
        ProcMapInput = string.Join(';', jobNodes.Select(n => string.Join(',', RanksOn(n))));
    }

    /// <summary>The host name of every job node, by PMIx node id.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The job's node names, comma-separated (the input of the node map).</summary>
    public string NodeMapInput { get; }

    /// <summary>The ranks of each job node, comma-separated, nodes separated by ';' (the input of the proc map).</summary>
    public string ProcMapInput { get; }

    public int NodeCount => _jobNodes.Length;

    public static PmixJobMap Create(int[] nodeOfRank, IReadOnlyList<string> nodeNames)
    {
        var jobNodes = nodeOfRank.Distinct().Order().ToArray();
        foreach (var node in jobNodes)
        {
            if (node < 0 || node >= nodeNames.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(nodeOfRank), $"node {node} of the PMIx job is not in the run's node table of {nodeNames.Count}");
            }
        }
        return new PmixJobMap(nodeOfRank, jobNodes, [.. jobNodes.Select(n => nodeNames[n])]);
    }

    /// <summary>The PMIx node id of runtime node <paramref name="runtimeNode"/>.</summary>
    public int JobNodeOf(int runtimeNode) => Array.IndexOf(_jobNodes, runtimeNode);

    /// <summary>The PMIx node id of the node <paramref name="rank"/> runs on.</summary>
    public int JobNodeOfRank(int rank) => JobNodeOf(_nodeOfRank[rank]);

    /// <summary>The ranks on runtime node <paramref name="runtimeNode"/>, ascending.</summary>
    public int[] RanksOn(int runtimeNode) => [.. Enumerable.Range(0, _nodeOfRank.Length).Where(r => _nodeOfRank[r] == runtimeNode)];

    public string NodeMap() => Generate(NodeMapInput, ppn: false);

    public string ProcMap() => Generate(ProcMapInput, ppn: true);

    private static string Generate(string input, bool ppn)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(input + "\0");
        byte* output = null;
        int status;
        fixed (byte* p = bytes)
        {
            status = ppn ? PmixNative.PMIx_generate_ppn(p, &output) : PmixNative.PMIx_generate_regex(p, &output);
        }
        PmixCall.ThrowIfFailed(status, ppn ? $"PMIx_generate_ppn({input})" : $"PMIx_generate_regex({input})");
        // For maps this small libpmix gives a NUL-terminated "pmix[...]" string; it parses it back from the value.
        var text = Marshal.PtrToStringUTF8((nint)output) ?? string.Empty;
        NativeMemory.Free(output);
        return text;
    }
}
