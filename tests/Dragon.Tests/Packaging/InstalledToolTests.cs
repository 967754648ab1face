using Xunit;

namespace Dragon.Tests.Packaging;

/// <summary>The dragon command as `dotnet tool install` puts it on a user's machine.</summary>
[Collection(PackagingCollection.Name)]
public sealed class InstalledToolTests(PackageFeed feed) : IDisposable
{
    private readonly UserMachine _machine = new(feed);

    /// <summary>
    /// <c>dragon --version</c> prints the package version: the informational version without its source-revision
    /// suffix, as <c>dotnet tool list</c> shows it.
    /// </summary>
    [Fact]
    public void InstalledTool_Version_IsThePackageVersion()
    {
        _machine.InstallTool();
        Assert.True(new FileInfo(_machine.Dragon).ResolveLinkTarget(returnFinalTarget: true) is { Name: "Dragon.Launcher" }, "the command is the native launcher");

        var version = Commands.Run(_machine.Dragon, ["--version"], _machine.Home, TimeSpan.FromSeconds(30));

        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal($"dragon {feed.Version}", version.Stdout.Trim());
        var listed = _machine.DotnetOk(_machine.Home, "tool", "list", "--tool-path", _machine.ToolPath);
        Assert.Contains(listed.Lines, l => l.StartsWith("dragon.tool ", StringComparison.Ordinal) && l.Contains($" {feed.Version} ", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" dragon", StringComparison.Ordinal));
    }

    public void Dispose() => _machine.Dispose();
}
