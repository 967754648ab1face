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
        try
        {
            runDir = Ps.FindRun(runId);
        }
        catch (Ps.PsException e)
        {
            Console.Error.WriteLine($"dragon report: {e.Message}");
            return 1;
        }

        if ((Fetch(runDir, out var html) ?? Save(html!, output)) is { } error)
        {
            Console.Error.WriteLine($"dragon report: {error}");
            return 1;
        }

        Console.Error.WriteLine($"dragon report: run {Path.GetFileName(runDir)}: report written to {output}");
        return 0;
    }

    /// <summary>Asks the run for its report as it stands; returns why not, or null with the page in <paramref name="html"/>.</summary>
    internal static string? Fetch(string runDir, out byte[]? html)
    {
        html = null;
        byte[] reply;
        try
        {
            reply = Ps.Ask(runDir, [.. Encoding.ASCII.GetBytes(StatusServer.ReportRequest), .. Ps.Credential(runDir)]);
        }
        catch (Ps.PsException e)
        {
            return e.Message;
        }

        // A refusal is the status socket's JSON error; a report is HTML.
        if (reply.AsSpan().TrimStart(" \n"u8).StartsWith("{"u8))
        {
            using var document = JsonDocument.Parse(reply);
            var error = document.RootElement.TryGetProperty(RunStatus.Fields.Error, out var e) ? e.GetString() : "an answer that is not a report";
            return $"run {Path.GetFileName(runDir)}: {error}";
        }

        html = reply;
        return null;
    }

    /// <summary>Writes the page whole or not at all (a temporary file, then a rename); returns why not, or null.</summary>
    internal static string? Save(byte[] html, string output)
    {
        try
        {
            var temporary = $"{output}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, html);
            File.Move(temporary, output, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write {output}: {e.Message}";
        }
    }
}
