using System.Diagnostics;

namespace Dragon.Launcher.Nodes;

/// <summary>
/// Starting node services over SSH as a tree: the launcher starts the first <see cref="Width"/> hosts, and the node
/// service of host i starts hosts W*(i+1) .. W*(i+1)+W-1 (<see cref="Services.Node.NodeTree"/>), so bring-up over many
/// hosts takes a few rounds of SSH instead of one launcher opening them all. Every node service still dials the
/// launcher itself; the same tree, in every mode, spreads the node table and the end of the run.
/// </summary>
internal static class FanOut
{
    /// <summary>Children per node (DRAGON_FANOUT, default 16).</summary>
    public static int Width =>
        int.TryParse(Environment.GetEnvironmentVariable("DRAGON_FANOUT"), out var width) && width >= 1 ? width : 16;

    /// <summary>Starts <c>dragon _node</c> on a host over SSH, the run's secret on its stdin (never on a command line).</summary>
    public static System.Diagnostics.Process StartOverSsh(string host, string exe, IEnumerable<string> nodeArgs, string secret)
    {
        var start = new ProcessStartInfo("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", host, "exec", exe, .. nodeArgs])
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
        };
        var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"cannot run ssh to {host}");
        GiveSecret(process, secret);
        return process;
    }

    /// <summary>Writes the secret to a starter's stdin; one that already died (an unknown host) is reported by bring-up.</summary>
    public static void GiveSecret(System.Diagnostics.Process process, string secret)
    {
        try
        {
            process.StandardInput.WriteLine(secret);
            process.StandardInput.Flush();
        }
        catch (IOException)
        {
            // The starter exited before reading it; its exit code and stderr name the problem.
        }
    }
}
