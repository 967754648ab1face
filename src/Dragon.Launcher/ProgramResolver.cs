using System.Diagnostics;
using Dragon.Services.Spawning;

namespace Dragon.Launcher;

/// <summary>
/// Turns the PROGRAM argument into an executable and arguments: a native executable as is; a .NET <c>.dll</c> under
/// the dotnet host; a .NET project directory built first when its sources are newer than its output.
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

        if (Directory.Exists(program) && FindProject(program) is { } project)
        {
            return (DotnetHost(), [BuildIfStale(project), .. args]);
        }

        return (program, args.ToArray());
    }

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

    /// <summary>Builds the project when a source is newer than the recorded output; returns the output dll.</summary>
    private static string BuildIfStale(string project)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(project))!;
        var record = Path.Combine(directory, "obj", "dragon-target-path.txt");
        if (File.Exists(record) && File.ReadAllText(record).Trim() is { Length: > 0 } target && File.Exists(target)
            && NewestSource(directory) <= File.GetLastWriteTimeUtc(target))
        {
            return target;
        }

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "build", project, "-c", "Release", "-nologo", "-v", "q", "-getProperty:TargetPath" })
        {
            start.ArgumentList.Add(a);
        }

        using var build = System.Diagnostics.Process.Start(start) ?? throw new SpawnException($"cannot run dotnet build for {project}");
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        build.WaitForExit();
        var output = stdout.Result.Trim();
        if (build.ExitCode != 0)
        {
            throw new SpawnException($"building {project} failed:{Environment.NewLine}{output}{stderr.Result}");
        }

        var targetPath = output.Split('\n').Last().Trim();
        if (!File.Exists(targetPath))
        {
            throw new SpawnException($"built {project} but found no output at '{targetPath}'");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(record)!);
        File.WriteAllText(record, targetPath);
        File.SetLastWriteTimeUtc(targetPath, DateTime.UtcNow);
        return targetPath;
    }

    private static DateTime NewestSource(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith("proj", StringComparison.Ordinal) || f.EndsWith(".props", StringComparison.Ordinal))
            .Select(File.GetLastWriteTimeUtc)
            .DefaultIfEmpty(DateTime.MinValue)
            .Max();
}
