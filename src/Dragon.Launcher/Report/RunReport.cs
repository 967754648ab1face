using Dragon.Services.Global;
using Dragon.Services.Node;
using Dragon.Services.Runtime;

namespace Dragon.Launcher.Report;

/// <summary>The run report of a run's global services: at the end of the run (<c>--report</c>) or while it runs (the status socket).</summary>
internal static class RunReport
{
    /// <summary>
    /// The launcher's output sink: the terminal, or with <c>--report</c> a <see cref="TailingSink"/> in front of it
    /// that keeps the stderr tails (the run is then labelled, so every forwarded line names its process).
    /// </summary>
    public static IOutputSink Sink(ConsoleSink terminal, LauncherOptions options) =>
        options.Report is null ? terminal : new TailingSink(terminal, options.Label);

    /// <summary>Starts the run's history: its command line, its stderr tails when kept, a metric sample every second.</summary>
    public static void Attach(GlobalServices global, IOutputSink output, LauncherOptions options)
    {
        global.History.Command = string.Join(' ', Environment.GetCommandLineArgs().Select(Quote));
        if (output is TailingSink tailing)
        {
            tailing.History = global.History;
            global.History.KeepsStderr = true;
        }

        global.History.StartSampling(global);
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@+%".Contains(c, StringComparison.Ordinal)) ? arg : $"'{arg.Replace("'", "'\''", StringComparison.Ordinal)}'";

    /// <summary>The report page as it stands now; <paramref name="final"/> when the run has ended.</summary>
    public static byte[] Build(GlobalServices global, bool final) => ReportPage.Build(Data(global, final));

    /// <summary>
    /// Writes the report of an ended run to <paramref name="path"/>. A report that cannot be written is told on
    /// stderr and does not change how the run ends.
    /// </summary>
    public static void Write(GlobalServices global, string path)
    {
        try
        {
            ReportPage.WriteFile(path, Data(global, final: true));
            Console.Error.WriteLine($"dragon: run report written to {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dragon: cannot write the run report {path}: {e.Message}");
        }
    }

    private static byte[] Data(GlobalServices global, bool final) =>
        ReportData.Write(global.Run.RunId, global.NodeDescriptors, global.IsLost, global.History.Snapshot(), final);
}
