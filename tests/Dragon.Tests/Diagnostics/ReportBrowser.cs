using System.Diagnostics;
using Xunit;

namespace Dragon.Tests.Diagnostics;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>, installed by scripts/install-deps) on a report file: its DOM after
/// the page's script ran, or a screenshot. Each call has its own profile directory, removed afterwards, so runs never
/// share or leave browser state.
/// </summary>
internal static class ReportBrowser
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    public static string Chromium =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("chromium is not installed; scripts/install-deps installs it");

    /// <summary>The serialized DOM once the page loaded, and what Chromium logged (console messages included).</summary>
    public static (string Dom, string Log) DumpDom(string htmlFile) =>
        Run(["--enable-logging=stderr", "--v=0", "--dump-dom", Url(htmlFile)]);

    /// <summary>A screenshot of the page at 1600 x 1200.</summary>
    public static string Screenshot(string htmlFile, string pngFile)
    {
        var (_, log) = Run(["--hide-scrollbars", "--window-size=1600,1200", $"--screenshot={pngFile}", Url(htmlFile)]);
        return log;
    }

    private static string Url(string path) => new Uri(Path.GetFullPath(path)).AbsoluteUri;

    private static (string Stdout, string Stderr) Run(string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("dragon-report-chromium-");
        try
        {
            var info = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--virtual-time-budget=5000", $"--user-data-dir={profile.FullName}" }.Concat(args))
            {
                info.ArgumentList.Add(arg);
            }

            using var browser = Process.Start(info)!;
            var stdout = browser.StandardOutput.ReadToEndAsync();
            var stderr = browser.StandardError.ReadToEndAsync();
            if (!browser.WaitForExit(s_timeout))
            {
                browser.Kill(entireProcessTree: true);
                browser.WaitForExit();
                Assert.Fail($"chromium {string.Join(' ', args)} did not finish within {s_timeout}\n{stderr.Result}");
            }

            browser.WaitForExit();
            Assert.True(browser.ExitCode == 0, $"chromium {string.Join(' ', args)} exited {browser.ExitCode}\n{stderr.Result}");
            return (stdout.Result, stderr.Result);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
