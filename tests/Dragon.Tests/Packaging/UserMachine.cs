using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Packaging;

/// <summary>
/// A user's machine in a temporary directory outside the repository: a NuGet config that knows the local feed and
/// the machine's package sources only, a private package cache (so a package repacked under the same version is never
/// taken stale from the machine's cache), a tool path and a template hive of its own.
/// </summary>
internal sealed class UserMachine : IDisposable
{
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromMinutes(5);
    private readonly PackageFeed _feed;

    public UserMachine(PackageFeed feed)
    {
        _feed = feed;
        Home = Path.Combine(Path.GetTempPath(), "dragon-user-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Home);

        // The machine's restored packages (the Native AOT compiler among them) serve as a read-only fallback, less any
        // Dragon package: that one must come from the feed.
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var fallback = Path.Combine(Home, "machine-packages");
        Directory.CreateDirectory(fallback);
        if (Directory.Exists(machineCache))
        {
            foreach (var package in Directory.EnumerateDirectories(machineCache).Where(d => !Path.GetFileName(d).StartsWith("dragon", StringComparison.OrdinalIgnoreCase)))
            {
                Directory.CreateSymbolicLink(Path.Combine(fallback, Path.GetFileName(package)), package);
            }
        }

        File.WriteAllText(Path.Combine(Home, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="dragon" value="{feed.Directory}" />
                <add key="machine" value="/opt/nuget/packages" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="machine-cache" value="{fallback}" />
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    public string Home { get; }

    public string ToolPath => Path.Combine(Home, "tools");

    public string Hive => Path.Combine(Home, "template-hive");

    public string Dragon => Path.Combine(ToolPath, "dragon");

    /// <summary>Runs dotnet in <see cref="Home"/> (or a folder of it) with the machine's private package cache.</summary>
    public RunResult Dotnet(params string[] args) => DotnetIn(Home, args);

    public RunResult DotnetIn(string directory, params string[] args) =>
        Commands.Run("dotnet", args, directory, s_commandTimeout, new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Home, "packages") });

    /// <summary>Runs dotnet and fails the test, with its output, unless it exits 0.</summary>
    public RunResult DotnetOk(string directory, params string[] args)
    {
        var result = DotnetIn(directory, args);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', args)}: {result}");
        return result;
    }

    public void InstallTool() =>
        DotnetOk(Home, "tool", "install", "--tool-path", ToolPath, "--add-source", _feed.Directory, "--version", _feed.Version, "Dragon.Tool");

    public void UninstallTool() => DotnetOk(Home, "tool", "uninstall", "--tool-path", ToolPath, "Dragon.Tool");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
