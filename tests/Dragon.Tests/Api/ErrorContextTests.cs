using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Api;

/// <summary>
/// Exceptions in the user's process carry the context the services knew (Dragon.TestApp/Api/ErrorContextScenario.cs,
/// two local nodes, the failing members on node 1).
/// </summary>
public sealed class ErrorContextTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();
    private ErrorContextResult? _result;

    [Fact]
    public void ProcessGroupException_MemberExitsWithCode7_CarriesItsPuidNodeRankAndCode()
    {
        var e = Run().ByCode;

        Assert.Equal(nameof(ProcessGroupException), e.Type);
        Assert.Equal(e.ExpectedPuid, e.Puid);
        Assert.Equal(e.ExpectedNode, e.NodeIndex);
        Assert.Equal(2, e.Rank);
        Assert.Equal(7, e.ExitCode);
        Assert.Null(e.Signal);
        Assert.Contains($"member 2 (puid {e.ExpectedPuid} on node local1", e.Message, StringComparison.Ordinal);
        Assert.Contains("exited with code 7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProcessGroupException_MemberKilledBySignal9_CarriesItsPuidNodeRankAndSignal()
    {
        var e = Run().BySignal;

        Assert.Equal(nameof(ProcessGroupException), e.Type);
        Assert.Equal(e.ExpectedPuid, e.Puid);
        Assert.Equal(e.ExpectedNode, e.NodeIndex);
        Assert.Equal(1, e.Rank);
        Assert.Equal(9, e.Signal);
        Assert.Null(e.ExitCode);
        Assert.Contains("signal 9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProcessNotFoundException_AttachingABadPuid_CarriesThePuid()
    {
        var e = Run().NotFound;

        Assert.Equal(nameof(ProcessNotFoundException), e.Type);
        Assert.Equal(e.ExpectedPuid, e.Puid);
        Assert.Contains(e.ExpectedPuid.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ObjectNotFoundException_AttachingAMissingQueue_CarriesTheName()
    {
        var e = Run().MissingObject;

        Assert.Equal(nameof(ObjectNotFoundException), e.Type);
        Assert.Equal("no-such-queue", e.ObjectName);
        Assert.Null(e.Puid);
    }

    private ErrorContextResult Run()
    {
        if (_result is { } done)
        {
            return done;
        }

        // Outside the run base, which must be empty after the run.
        var path = Path.Combine(Path.GetTempPath(), $"dragon-errors-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "error-context", path);
            return _result = JsonSerializer.Deserialize<ErrorContextResult>(File.ReadAllText(path))!;
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose() => _dragon.Dispose();
}
