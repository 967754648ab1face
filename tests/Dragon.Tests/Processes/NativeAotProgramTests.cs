using Xunit;
using Dragon.Tests.Infrastructure;

namespace Dragon.Tests.Processes;

/// <summary>
/// A user program published Native AOT (tests/Dragon.AotApp) as the head: its C# method targets start from the
/// same executable and run from Dragon's module initializer, since Native AOT has no startup hooks.
/// </summary>
public sealed class NativeAotProgramTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly DragonRun _dragon = new();

    private RunResult Scenario(string scenario)
    {
        return _dragon.RunScenario(s_timeout, Repo.AotApp, scenario);
    }

    [Fact]
    public void Methods_RunInChildrenOfTheAotExecutable_WithArgumentsRuntimeObjectsAndExitCodes() =>
        RunResultChecks.AssertHas(
            Scenario("methods"),
            "this program runs as Native AOT",
            "the method got its arguments: 'sum 42 x a,b pid",
            "the method ran in another process",
            "the method's return value is the exit code: 42",
            "the child set the event it was passed",
            "a queue passed to a method carried its items: item 0,item 1,item 2",
            "a group of 8 methods all exited 0",
            "a 100 kB argument arrived whole",
            "a throwing method exits 1",
            "stderr names the method and the exception");

    [Fact]
    public void Methods_ArgumentWithoutAotSerialization_ClearErrorAtStartAndTheRuntimeGoesOn() =>
        RunResultChecks.AssertHas(
            Scenario("bad-args"),
            "the error names the argument and its type",
            "the runtime still starts methods afterwards");

    public void Dispose() => _dragon.Dispose();
}
