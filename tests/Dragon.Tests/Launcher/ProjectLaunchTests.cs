using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>
/// <c>dragon DIR</c> on a project directory builds the project when it is stale, shows a failed build's errors
/// and runs the fresh output. The project lives in a temporary directory and references src/Dragon.
/// </summary>
public sealed class ProjectLaunchTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(300);
    private readonly DragonRun _dragon = new();
    private readonly string _project = Path.Combine(Path.GetTempPath(), "dragon-project-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void DragonProjectDir_NeverBuiltThenEditedThenBroken_BuildsRunsFreshOutputAndReportsErrors()
    {
        Directory.CreateDirectory(_project);
        var dragonProject = Path.Combine(Repo.Root, "src", "Dragon", "Dragon.csproj");
        File.WriteAllText(Path.Combine(_project, "Hello.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{dragonProject}" />
              </ItemGroup>
            </Project>
            """);
        var source = Path.Combine(_project, "Program.cs");

        File.WriteAllText(source, "Console.WriteLine($\"hello v1 on {Dragon.SystemInfo.Nodes.Count} node(s)\");\n");
        var first = _dragon.Run(s_timeout, _project);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("hello v1 on 1 node(s)", first.Stdout, StringComparison.Ordinal);

        File.WriteAllText(source, "Console.WriteLine(\"hello v2\");\n");
        var second = _dragon.Run(s_timeout, _project);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("hello v2", second.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("hello v1", second.Stdout, StringComparison.Ordinal);

        File.WriteAllText(source, "Console.WriteLine(\"hello v3\")\n");
        var broken = _dragon.Run(s_timeout, _project);
        Assert.True(broken.ExitCode != 0, broken.ToString());
        Assert.Contains("error CS1002", broken.Stderr, StringComparison.Ordinal);
        Assert.Contains("Program.cs", broken.Stderr, StringComparison.Ordinal);
        Assert.Contains("building", broken.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", broken.Stdout, StringComparison.Ordinal);
        _dragon.AssertNothingLeft();
    }

    public void Dispose()
    {
        _dragon.Dispose();
        try
        {
            Directory.Delete(_project, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
