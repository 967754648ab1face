namespace Dragon.TestApp;

/// <summary>
/// The context of the exceptions the error-context scenario caught, with what it expected them to name, written as
/// JSON for the test to read (this file is compiled into both the scenario program and the test project).
/// </summary>
/// <param name="ByCode">A group whose member 2 (on the last node) exited with code 7.</param>
/// <param name="BySignal">A group whose member 1 (on the last node) was killed by signal 9.</param>
/// <param name="NotFound">Attaching to a puid no process has.</param>
/// <param name="MissingObject">Attaching to a queue name nothing has.</param>
public sealed record ErrorContextResult(CaughtError ByCode, CaughtError BySignal, CaughtError NotFound, CaughtError MissingObject);

/// <summary>An exception's type, message and context properties, and the values the scenario expected in them.</summary>
public sealed record CaughtError(
    string Type,
    string Message,
    ulong? Puid,
    int? NodeIndex,
    int? Rank,
    int? ExitCode,
    int? Signal,
    string? ObjectName,
    ulong ExpectedPuid,
    int ExpectedNode)
{
    public static CaughtError From(DragonException e, ulong expectedPuid = 0, int expectedNode = -1) =>
        new(e.GetType().Name, e.Message, e.Puid, e.NodeIndex, e.Rank, e.ExitCode, e.Signal, e.ObjectName, expectedPuid, expectedNode);
}
