using System.Text;
using System.Text.Json;
using Dragon.Launcher.Status;
using Dragon.Services.Global;

namespace Dragon.Launcher.Report;

/// <summary>
/// <c>dragon report [RUN] -o FILE.html</c>: asks a running run's launcher for its report as it stands now, through
/// the status socket and with the credential <c>dragon ps</c> uses, and writes it to FILE.
/// </summary>
internal static class ReportCommand
{
    public const string Command = "report";

    public static int Run(IReadOnlyList<string> args)
    {
        string? runId = null;
        string? output = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-o" or "--output":
                    output = ++i < args.Count ? LauncherOptions.ReportPath(args[i], args[i - 1]) : throw new UsageException($"{args[i - 1]} needs a file name");
                    break;
                case var arg when arg.StartsWith('-'):
                    throw new UsageException($"unknown report option '{arg}'");
                case var arg when runId is null:
                    runId = arg;
                    break;
                default:
                    throw new UsageException($"report takes one run id, not '{runId}' and '{args[i]}'");
            }
        }

        if (output is null)
        {
            throw new UsageException("report needs -o FILE.html");
        }

        string runDir;
        byte[] reply;
        try
        {
            runDir = Ps.FindRun(runId);
            reply = Ps.Ask(runDir, [.. Encoding.ASCII.GetBytes(StatusServer.ReportRequest), .. Ps.Credential(runDir)]);
        }
        catch (Ps.PsException e)
        {
            Console.Error.WriteLine($"dragon report: {e.Message}");
            return 1;
        }

        // A refusal is the status socket's JSON error; a report is HTML.
        if (reply.AsSpan().TrimStart(" \n"u8).StartsWith("{"u8))
        {
            using var document = JsonDocument.Parse(reply);
            var error = document.RootElement.TryGetProperty(RunStatus.Fields.Error, out var e) ? e.GetString() : "an answer that is not a report";
            Console.Error.WriteLine($"dragon report: run {Path.GetFileName(runDir)}: {error}");
            return 1;
        }

        try
        {
            var temporary = $"{output}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, reply);
            File.Move(temporary, output, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dragon report: cannot write {output}: {e.Message}");
            return 1;
        }

        Console.Error.WriteLine($"dragon report: run {Path.GetFileName(runDir)}: report written to {output}");
        return 0;
    }
}
