using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pool;

/// <summary>A pool whose head and workers are a Native AOT executable (tests/Dragon.AotApp/PoolScenario.cs).</summary>
public sealed class PoolAotTests : IDisposable
{
    private readonly DragonRun _dragon = new();

    [Fact]
    public void Pool_NativeAotProgram_RunsTasksReportsFailuresAndRefusesUnsupportedArguments() =>
        RunResultChecks.AssertHas(
            _dragon.RunScenario(TimeSpan.FromSeconds(120), Repo.AotApp, "pool"),
            "this program runs as Native AOT",
            "a submitted task ran on an AOT worker",
            "a map of 10000 returned every result in order",
            "a throwing task's exception came back: System.InvalidOperationException: no 3",
            "a record argument without AOT serialization is refused at submit",
            "the pool goes on");

    public void Dispose() => _dragon.Dispose();
}
