using Dragon.TestApp;
using Xunit;
using Xunit.Abstractions;

namespace Dragon.Tests.Contract;

/// <summary>
/// Base of the contract test classes: the typed result of the class's one contract run (<see cref="ContractRunFixture"/>),
/// and each case's part of it.
/// </summary>
public abstract class ContractTests<TResult>(ContractRunFixture fixture, ITestOutputHelper output, string family, string layout, string mode)
    : IClassFixture<ContractRunFixture>
    where TResult : class
{
    protected string Layout => layout;

    protected string Mode => mode;

    protected ITestOutputHelper Output => output;

    /// <summary>The run's result (the first fact to ask runs it).</summary>
    protected TResult Result
    {
        get
        {
            var result = fixture.Result<TResult>(family, layout, mode);
            output.WriteLine($"contract {family} {layout} {mode}: the run took {fixture.Elapsed.TotalSeconds:F1} s");
            foreach (var line in fixture.CaseLines)
            {
                output.WriteLine(line);
            }
            return result;
        }
    }

    protected abstract CaseFailure[] Failures(TResult result);

    /// <summary>The case's result; fails with what the case threw when it did not finish.</summary>
    protected T Case<T>(Func<TResult, T?> select, string name)
        where T : class
    {
        var result = Result;
        var failure = Failures(result).FirstOrDefault(f => f.Case == name);
        var value = select(result);
        Assert.True(value is not null, failure is null ? $"case {name} has no result" : $"case {name} threw {failure.ExceptionType}: {failure.Message}");
        return value!;
    }
}
