using System.Text.Json;
using Dragon.TestApp;
using Dragon.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Dragon.Tests.Api;

/// <summary>
/// A user program that sets <see cref="DragonRuntime.LoggerFactory"/> receives the library's events through its own
/// provider, with their structured state (Dragon.TestApp/Api/LoggingScenario.cs, two local nodes).
/// </summary>
public sealed class LoggingTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();
    private LoggingResult? _result;

    [Fact]
    public void LoggerFactory_SetByTheProgram_ReceivesConnectedWithTheNodeAndSocket()
    {
        var result = Run();

        var connected = Assert.Single(result.Events, e => e.EventName == "Connected");
        Assert.Equal("Dragon.Runtime", connected.Category);
        Assert.Equal(LogLevel.Information, connected.Level);
        Assert.Equal(result.HeadNode.ToString(System.Globalization.CultureInfo.InvariantCulture), connected.State["NodeIndex"]);
        Assert.EndsWith(".sock", connected.State["SocketPath"], StringComparison.Ordinal);
    }

    [Fact]
    public void LoggerFactory_ObjectCreatedAndAttached_LogsTheObjectNameKindAndHomeInTheState()
    {
        var result = Run();

        var created = Assert.Single(result.Events, e => e.EventName == "ObjectCreated" && e.State["ObjectName"] == result.QueueName);
        var attached = Assert.Single(result.Events, e => e.EventName == "ObjectAttached");
        foreach (var e in new[] { created, attached })
        {
            Assert.Equal("Dragon.Objects", e.Category);
            Assert.Equal(LogLevel.Debug, e.Level);
            Assert.Equal("Channel", e.State["Kind"]);
            Assert.Equal(result.HeadNode.ToString(System.Globalization.CultureInfo.InvariantCulture), e.State["HomeNode"]);
        }

        Assert.Equal(result.QueueName, attached.State["ObjectName"]);
        Assert.Contains($"'{result.QueueName}'", attached.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoggerFactory_WaitCancelledOnAnotherNode_LogsTheCancelWithTheObjectAndItsHome()
    {
        var result = Run();

        var cancelled = Assert.Single(result.Events, e => e.EventName == "CancelledAcrossNodes");
        Assert.Equal("Dragon.Objects", cancelled.Category);
        Assert.Equal(result.EventName, cancelled.State["ObjectName"]);
        Assert.Equal("1", cancelled.State["HomeNode"]);
        Assert.Equal("EventWait", cancelled.State["Op"]);
    }

    private LoggingResult Run()
    {
        if (_result is { } done)
        {
            return done;
        }

        // Outside the run base, which must be empty after the run.
        var path = Path.Combine(Path.GetTempPath(), $"dragon-logging-{Guid.NewGuid():N}.json");
        try
        {
            _dragon.RunScenario(s_timeout, "--local-nodes", "2", Repo.TestApp, "logging", path);
            return _result = JsonSerializer.Deserialize<LoggingResult>(File.ReadAllText(path))!;
        }
        finally
        {
            File.Delete(path);
        }
    }

    public void Dispose() => _dragon.Dispose();
}
