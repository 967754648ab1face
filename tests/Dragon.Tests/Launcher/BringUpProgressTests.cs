using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Launcher;

/// <summary>Bring-up progress: shown where a person watches (forced here), never in a pipe by default.</summary>
public sealed class BringUpProgressTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Progress_Forced_CountsNodesAsTheyRegister()
    {
        var result = _dragon.RunWithEnv(s_timeout, new Dictionary<string, string> { ["DRAGON_PROGRESS"] = "always" }, "--wlm", "fork", "--local-nodes", "3", "/bin/true");
        Assert.True(result.ExitCode == 0, result.ToString());

        // Redrawn in place (\r and erase to the end of the line), ending on the whole count. (The reader here
        // splits lines at \r as well as \n.)
        var draws = result.Stderr.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(d => d.StartsWith("dragon: ", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(draws);
        Assert.All(draws, d => Assert.Matches(@"^dragon: [0-3]/3 nodes registered(\u001b\[K)?$", d));
        Assert.Equal("dragon: 3/3 nodes registered", draws[^1]);
        _dragon.AssertNothingLeft();
    }

    [Fact]
    public void Progress_StderrNotATerminal_StaysQuiet()
    {
        var result = _dragon.Run(s_timeout, "--wlm", "fork", "--local-nodes", "3", "/bin/true");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("nodes registered", result.Stderr, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public void Dispose() => _dragon.Dispose();
}
