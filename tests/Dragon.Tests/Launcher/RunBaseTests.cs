using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Launcher;

/// <summary>
/// The run base directory is refused when another user could tamper with it (owned by someone else, writable by
/// others, a symbolic link), by <c>dragon</c> and by <c>dragon cleanup</c> alike; <c>$XDG_RUNTIME_DIR</c> is
/// preferred when it is private to the user.
/// </summary>
public sealed class RunBaseTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const int Nobody = 65534;

    private readonly DragonRun _dragon = new();
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "dragon-tests", "base-" + Guid.NewGuid().ToString("N")[..12]);

    public RunBaseTests() => Directory.CreateDirectory(_scratch, Private);

    private Dictionary<string, string> BaseAt(string path) => new() { ["DRAGON_RUN_BASE"] = path };

    /// <summary>Runs dragon and dragon cleanup against <paramref name="runBase"/>; both must refuse it, naming it and why.</summary>
    private void AssertRefused(string runBase, string reason)
    {
        var run = _dragon.RunWithEnv(s_timeout, BaseAt(runBase), "/bin/echo", "must not run");
        Assert.Equal(1, run.ExitCode);
        Assert.DoesNotContain("must not run", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"refusing the run base directory {runBase}", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(reason, run.Stderr, StringComparison.Ordinal);

        var cleanup = _dragon.RunWithEnv(s_timeout, BaseAt(runBase), "cleanup");
        Assert.Equal(1, cleanup.ExitCode);
        Assert.Contains($"refusing the run base directory {runBase}", cleanup.Stderr, StringComparison.Ordinal);
        Assert.Contains(reason, cleanup.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Dragon_BaseOwnedByAnotherUser_RefusesToRunAndToCleanUp()
    {
        if (Native.GetUid() != 0)
        {
            // Only root can give a directory away; the mode and symlink cases below still run.
            return;
        }

        var runBase = Path.Combine(_scratch, "owned-by-nobody");
        Directory.CreateDirectory(runBase, Private);
        Assert.Equal(0, Native.Chown(runBase, Nobody, Nobody));

        // A run directory planted there, recording a live process of ours: cleanup must not kill it.
        using var victim = System.Diagnostics.Process.Start("/bin/sleep", "60");
        var planted = Path.Combine(runBase, "planted");
        Directory.CreateDirectory(planted);
        File.WriteAllText(Path.Combine(planted, "processes"), $"{victim.Id} 0 {long.MaxValue}\n");

        try
        {
            AssertRefused(runBase, $"is owned by uid {Nobody}, not by you (uid 0)");
            Assert.False(victim.HasExited, "cleanup killed a process recorded in a run directory it must not trust");
            Assert.Equal(["planted"], Directory.GetFileSystemEntries(runBase).Select(Path.GetFileName));
        }
        finally
        {
            victim.Kill();
            victim.WaitForExit();
        }
    }

    [Fact]
    public void Dragon_BaseWritableByOthers_RefusesToRunAndToCleanUp()
    {
        var runBase = Path.Combine(_scratch, "world-writable");
        Directory.CreateDirectory(runBase);
        File.SetUnixFileMode(runBase, Private | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
        AssertRefused(runBase, "is writable by other users (owner uid");
        Assert.Contains("mode 0777", _dragon.RunWithEnv(s_timeout, BaseAt(runBase), "/bin/true").Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(runBase));
    }

    [Fact]
    public void Dragon_BaseIsASymlink_RefusesToFollowIt()
    {
        var target = Path.Combine(_scratch, "target");
        Directory.CreateDirectory(target, Private);
        var link = Path.Combine(_scratch, "link");
        File.CreateSymbolicLink(link, target);
        AssertRefused(link, "is a symbolic link");
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public void Dragon_MissingBase_IsCreatedPrivate()
    {
        var runBase = Path.Combine(_scratch, "fresh");
        var run = _dragon.RunWithEnv(s_timeout, BaseAt(runBase), "/bin/echo", "ran");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(Private, File.GetUnixFileMode(runBase));
        Assert.Empty(Directory.GetFileSystemEntries(runBase));
    }

    [Fact]
    public void Dragon_PrivateXdgRuntimeDir_IsPreferredOverTmp()
    {
        var runtime = Path.Combine(_scratch, "xdg");
        Directory.CreateDirectory(runtime, Private);
        var env = new Dictionary<string, string> { ["DRAGON_RUN_BASE"] = string.Empty, ["XDG_RUNTIME_DIR"] = runtime };
        var run = _dragon.RunWithEnv(s_timeout, env, "/bin/sh", "-c", "echo \"$DRAGON_RUN_DIR\"");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith(Path.Combine(runtime, "dragon") + "/", run.Stdout.Trim(), StringComparison.Ordinal);
        Assert.Equal(Private, File.GetUnixFileMode(Path.Combine(runtime, "dragon")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(runtime, "dragon")));

        // A runtime directory that is not private to the user is passed over for /tmp/dragon-UID.
        File.SetUnixFileMode(runtime, Private | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Directory.Delete(Path.Combine(runtime, "dragon"));
        var tmpBase = Path.Combine(Path.GetTempPath(), $"dragon-{Native.GetUid()}");
        var tmpBaseExisted = Directory.Exists(tmpBase);
        var fallback = _dragon.RunWithEnv(s_timeout, env, "/bin/sh", "-c", "echo \"$DRAGON_RUN_DIR\"");
        Assert.True(fallback.ExitCode == 0, fallback.ToString());
        Assert.StartsWith(tmpBase + "/", fallback.Stdout.Trim(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(runtime, "dragon")));
        Assert.False(Directory.Exists(fallback.Stdout.Trim()), "the run directory was removed");
        if (!tmpBaseExisted)
        {
            Directory.Delete(tmpBase);
        }
    }

    public void Dispose()
    {
        _dragon.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }
}
