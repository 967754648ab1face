using System.Text;

namespace Dragon.Launcher.Report;

/// <summary>
/// The run report as one self-contained HTML file: the page, its style and its script (report.html, report.css,
/// report.js, embedded in this assembly) with the run's data (<see cref="ReportData"/>) inlined as JSON. It opens
/// from a file in any browser, with no server and no network.
/// </summary>
internal static class ReportPage
{
    private static readonly Lazy<(byte[] Head, byte[] Tail)> s_template = new(Load);

    /// <summary>The whole page around <paramref name="json"/>.</summary>
    public static byte[] Build(ReadOnlySpan<byte> json)
    {
        var (head, tail) = s_template.Value;
        var page = new byte[head.Length + json.Length + tail.Length];
        head.CopyTo(page, 0);
        json.CopyTo(page.AsSpan(head.Length));
        tail.CopyTo(page, head.Length + json.Length);
        return page;
    }

    /// <summary>Writes the page to <paramref name="path"/> whole or not at all (a temporary file renamed into place).</summary>
    public static void WriteFile(string path, ReadOnlySpan<byte> json)
    {
        var full = Path.GetFullPath(path);
        var temporary = $"{full}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temporary, Build(json));
        File.Move(temporary, full, overwrite: true);
    }

    private static (byte[] Head, byte[] Tail) Load()
    {
        var page = Resource("report.html")
            .Replace("/*STYLE*/", Resource("report.css"), StringComparison.Ordinal)
            .Replace("/*SCRIPT*/", Resource("report.js"), StringComparison.Ordinal);
        var at = page.IndexOf("/*DATA*/", StringComparison.Ordinal);
        return (Encoding.UTF8.GetBytes(page[..at]), Encoding.UTF8.GetBytes(page[(at + "/*DATA*/".Length)..]));
    }

    private static string Resource(string name)
    {
        using var stream = typeof(ReportPage).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the report template {name} is missing from the dragon binary");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
