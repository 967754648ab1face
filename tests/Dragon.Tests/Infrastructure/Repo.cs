namespace Dragon.Tests.Infrastructure;

/// <summary>Paths of what <c>scripts/build</c> produced, found from the test assembly's location.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Dragon => Path.Combine(Root, "artifacts", "bin", "dragon");

    public static string TestApp => Built("Dragon.TestApp");

    /// <summary>The test program published Native AOT by <c>scripts/build</c>.</summary>
    public static string AotApp => Path.Combine(Root, "artifacts", "publish", "aot-app", "Dragon.AotApp");

    public static string MpiProgram(string name) => Path.Combine(Root, "artifacts", "mpi", name);

    /// <summary>The Release (else Debug) output dll of a project of the solution.</summary>
    public static string Built(string project)
    {
        foreach (var configuration in new[] { "release", "debug" })
        {
            var path = Path.Combine(Root, "artifacts", "build", "bin", project, configuration, project + ".dll");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"{project} is not built; run scripts/build first");
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dragon.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (Dragon.slnx) above " + AppContext.BaseDirectory);
    }
}
