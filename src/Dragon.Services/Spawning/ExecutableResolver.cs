namespace Dragon.Services.Spawning;

/// <summary>Turns a program name into a checked absolute path, with errors that name what is wrong.</summary>
internal static class ExecutableResolver
{
    public static string Resolve(string program, string? cwd, string? pathVariable)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.IsPathRooted(program) ? program : Path.GetFullPath(program, cwd ?? Environment.CurrentDirectory);
            Check(full, program);
            return full;
        }

        foreach (var dir in (pathVariable ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate) && Native.access(candidate, Native.X_OK) == 0)
            {
                return candidate;
            }
        }

        throw new SpawnException($"no such program: {program} (not found on PATH)");
    }

    private static void Check(string full, string asGiven)
    {
        if (Directory.Exists(full))
        {
            throw new SpawnException($"{asGiven} is a directory, not a program");
        }

        if (!File.Exists(full))
        {
            throw new SpawnException($"no such program: {asGiven}");
        }

        if (Native.access(full, Native.X_OK) != 0)
        {
            throw new SpawnException($"{asGiven} is not executable (no execute permission)");
        }
    }
}
