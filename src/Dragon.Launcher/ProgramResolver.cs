using System.Diagnostics;
using Dragon.Services.Spawning;

namespace Dragon.Launcher;

/// <summary>
/// Turns the PROGRAM argument into an executable and arguments: a native executable as is; a .NET <c>.dll</c> under
/// the dotnet host; a .NET project directory (or project file) built first, then its fresh output run.
/// </summary>
internal static class ProgramResolver
{
    public static (string Executable, string[] Args) Resolve(string program, IReadOnlyList<string> args)
    {
        if (program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(program))
            {
                throw new SpawnException($"no such .NET program: {program}");
            }

            return (DotnetHost(), [Path.GetFullPath(program), .. args]);
        }

        if (IsProjectFile(program) && File.Exists(program))
        {
            return (DotnetHost(), [Build(program), .. args]);
        }

        if (Directory.Exists(program) && FindProject(program) is { } project)
        {
            return (DotnetHost(), [Build(project), .. args]);
        }

        return (program, args.ToArray());
    }

    private static bool IsProjectFile(string path) =>
        path.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".fsproj", StringComparison.OrdinalIgnoreCase);

    private static string? FindProject(string directory) =>
        Directory.EnumerateFiles(directory, "*.csproj").Concat(Directory.EnumerateFiles(directory, "*.fsproj")).FirstOrDefault();

    public static string DotnetHost()
    {
        foreach (var candidate in new[] { Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"), Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root ? Path.Combine(root, "dotnet") : null })
        {
            if (!string.IsNullOrEmpty(candidate) && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return ExecutableResolver.Resolve("dotnet", null, Environment.GetEnvironmentVariable("PATH") + ":/usr/share/dotnet:/usr/lib/dotnet");
    }

    /// <summary>
    /// Builds the project (incrementally: an up-to-date project costs one no-op build) and returns the dll it built.
    /// The build's errors go straight to the user's stderr; a failed build stops the launch.
    /// </summary>
    private static string Build(string project)
    {
        // -t:Build with -getProperty builds first and reports the property afterwards; without a target,
        // -getProperty only evaluates the project and nothing is built.
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true };
        foreach (var a in new[] { "build", project, "-c", "Release", "-nologo", "-v", "q", "-t:Build", "-getProperty:TargetPath" })
        {
            start.ArgumentList.Add(a);
        }

        using var build = System.Diagnostics.Process.Start(start) ?? throw new SpawnException($"cannot run dotnet build for {project}");
        var output = build.StandardOutput.ReadToEnd().Trim();
        build.WaitForExit();
        if (build.ExitCode != 0)
        {
            throw new SpawnException($"building {project} failed (dotnet build exited with {build.ExitCode}); its errors are above");
        }

        var targetPath = output.Split('\n').Last().Trim();
        if (!File.Exists(targetPath))
        {
            throw new SpawnException($"built {project} but found no output at '{targetPath}'");
        }

        return targetPath;
    }
}
