using System.Globalization;
using System.Text.Json;
using Dragon.Services.Global;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dragon.Launcher.Status;

/// <summary>
/// <c>dragon top [RUN] [--interval SECONDS] [--once]</c>: a live view of a running run from another terminal on the
/// launcher's host, asked through the same authenticated status socket as <c>dragon ps</c>. On a terminal the view
/// redraws in place every interval until the run ends or the user presses q (r writes the run's report, as
/// <c>dragon report</c> does, to the current directory); written to a pipe or file it prints a
/// snapshot per interval (<c>--once</c>: one snapshot), so a script or a log can keep it.
/// </summary>
internal static class Top
{
    public const string Command = "top";

    private static readonly TimeSpan s_defaultInterval = TimeSpan.FromSeconds(1);

    public static int Run(IReadOnlyList<string> args)
    {
        var (runId, interval, once) = Parse(args);
        string runDir;
        try
        {
            runDir = Ps.FindRun(runId);
        }
        catch (Ps.PsException e)
        {
            Console.Error.WriteLine($"dragon top: {e.Message}");
            return 1;
        }

        var console = AnsiConsole.Console;
        var live = !once && !Console.IsOutputRedirected && console.Profile.Capabilities.Interactive;
        if (Console.IsOutputRedirected)
        {
            // A pipe or a file has no width: wide enough that a process table with long names stays one row each.
            console.Profile.Width = 160;
        }

        using var quit = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            quit.Cancel();
        };

        var first = Snapshot(runDir, live ? console.Profile.Height : int.MaxValue, live);
        if (first.Error is not null)
        {
            Console.Error.WriteLine($"dragon top: {first.Error}");
            return 1;
        }

        if (!live)
        {
            console.Write(first.View);
            while (!once && Wait(interval, quit.Token, keys: false) != Key.Quit)
            {
                var next = Snapshot(runDir, int.MaxValue, live: false);
                console.WriteLine();
                if (next.Ended || next.Error is not null)
                {
                    console.Write(Closing(runDir, next));
                    return next.Error is null ? 0 : 1;
                }

                console.Write(next.View);
            }

            return 0;
        }

        var code = 0;
        console.Live(first.View).AutoClear(false).Overflow(VerticalOverflow.Crop).Start(context =>
        {
            var shown = first.View;
            string? note = null;
            while (Wait(interval, quit.Token, keys: true) is var key and not Key.Quit)
            {
                if (key == Key.Report)
                {
                    note = WriteReport(runDir);
                }

                var next = Snapshot(runDir, console.Profile.Height - (note is null ? 0 : 1), live: true);
                if (next.Ended || next.Error is not null)
                {
                    // The last view stays on the screen, with why it stopped changing.
                    context.UpdateTarget(new Rows(shown, Closing(runDir, next)));
                    context.Refresh();
                    code = next.Error is null ? 0 : 1;
                    return;
                }

                shown = note is null ? next.View : new Rows(next.View, new Markup($"[grey]{Markup.Escape(note)}[/]"));
                context.UpdateTarget(shown);
                context.Refresh();
            }
        });
        return code;
    }

    /// <summary>The r key: the run's report as it stands, written to the current directory; says where or why not.</summary>
    private static string WriteReport(string runDir)
    {
        var file = Path.GetFullPath($"dragon-report-{Path.GetFileName(runDir)}-{DateTime.Now:HHmmss}.html");
        return (Dragon.Launcher.Report.ReportCommand.Fetch(runDir, out var html) ?? Dragon.Launcher.Report.ReportCommand.Save(html!, file)) is { } error
            ? $"report not written: {error}"
            : $"report written to {file}";
    }

    private static Markup Closing(string runDir, Frame frame) => frame.Error is { } error
        ? new Markup($"[red]dragon top: {Markup.Escape(error)}[/]\n")
        : new Markup($"[grey]run {Markup.Escape(Path.GetFileName(runDir))} ended[/]\n");

    private static (string? RunId, TimeSpan Interval, bool Once) Parse(IReadOnlyList<string> args)
    {
        string? runId = null;
        var interval = s_defaultInterval;
        var once = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--once":
                    once = true;
                    break;
                case "--interval" when i + 1 < args.Count:
                    if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds >= 0.1 && seconds <= 3600))
                    {
                        throw new UsageException($"top --interval takes seconds between 0.1 and 3600, not '{args[i]}'");
                    }

                    interval = TimeSpan.FromSeconds(seconds);
                    break;
                case var arg when arg.StartsWith('-'):
                    throw new UsageException($"unknown top option '{arg}'");
                case var arg when runId is null:
                    runId = arg;
                    break;
                case var arg:
                    throw new UsageException($"top takes one run id, not '{runId}' and '{arg}'");
            }
        }

        return (runId, interval, once);
    }

    private enum Key
    {
        Tick,
        Quit,
        Report,
    }

    /// <summary>Sleeps one interval, or less when a key asks for something: q, Esc or Ctrl-C to quit, r for a report.</summary>
    private static Key Wait(TimeSpan interval, CancellationToken quit, bool keys)
    {
        var until = DateTime.UtcNow + interval;
        while (DateTime.UtcNow < until)
        {
            if (quit.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(50)))
            {
                return Key.Quit;
            }

            while (keys && Console.KeyAvailable)
            {
                switch (Console.ReadKey(intercept: true).Key)
                {
                    case ConsoleKey.Q or ConsoleKey.Escape:
                        return Key.Quit;
                    case ConsoleKey.R:
                        return Key.Report;
                }
            }
        }

        return Key.Tick;
    }

    private readonly record struct Frame(IRenderable View, bool Ended, string? Error);

    /// <summary>Asks the run once and renders what it said; a run that is gone has ended.</summary>
    private static Frame Snapshot(string runDir, int height, bool live)
    {
        byte[] reply;
        try
        {
            reply = Ps.Ask(runDir, Ps.Credential(runDir));
        }
        catch (Ps.PsException e)
        {
            return File.Exists(Path.Combine(runDir, Dragon.Services.Runtime.RunLayout.StatusSocket))
                ? new Frame(Text.Empty, false, e.Message)
                : new Frame(Text.Empty, true, null);
        }

        using var document = JsonDocument.Parse(reply);
        var root = document.RootElement;
        return root.TryGetProperty(RunStatus.Fields.Error, out var error)
            ? new Frame(Text.Empty, false, $"run {Path.GetFileName(runDir)}: {error.GetString()}")
            : new Frame(TopView.Render(root, height, live), false, null);
    }
}
