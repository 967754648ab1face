using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Fuzz;

/// <summary>A short run of the fuzz program (scripts/fuzz runs the long one): every target, 20,000 inputs each.</summary>
public sealed class FuzzSmokeTests
{
    [Fact]
    public async Task Fuzz_20000InputsPerTarget_NoCrashNoHangNoUndocumentedException()
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet", [Repo.Built("Dragon.Fuzz"), "--count", "20000", "--seed", "20000", "--save", Path.Combine(Path.GetTempPath(), "dragon-fuzz-smoke")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var fuzz = System.Diagnostics.Process.Start(info)!;
        var stderr = fuzz.StandardError.ReadToEndAsync();
        var stdout = await fuzz.StandardOutput.ReadToEndAsync();
        Assert.True(fuzz.WaitForExit(TimeSpan.FromMinutes(5)), "the fuzz run finished in 5 minutes");
        Assert.True(fuzz.ExitCode == 0, $"fuzz exit code {fuzz.ExitCode}\n{stdout}\n{await stderr}");
        Assert.Equal(8, stdout.Split('\n').Count(l => l.Contains(": 20000 inputs,", StringComparison.Ordinal) && l.Contains(" 0 failures", StringComparison.Ordinal)));
    }
}
