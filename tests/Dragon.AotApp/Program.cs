using Dragon;

// Scenarios of a Native AOT program under dragon. Each prints CHECK lines, or FAIL and exits 1.
return args.FirstOrDefault() switch
{
    "methods" => AotScenarios.Methods(),
    "bad-args" => AotScenarios.BadArgs(),
    "pool" => AotPoolScenario.Run(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: dragon Dragon.AotApp methods|bad-args|pool");
    return 2;
}

/// <summary>A value type the built-in serialization of a Native AOT program does not know.</summary>
public sealed record Point(int X, int Y);

public static class AotScenarios
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static int s_failures;

    public static int Methods()
    {
        Check(!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported, "this program runs as Native AOT");

        // Arguments of built-in types; the method's return value is the exit code; its output is piped back.
        var sum = DragonProcess.Start(ProcessTemplate.FromMethod(Sum, 40, 2L, "x", new[] { "a", "b" }) with { Stdout = Stdio.Pipe });
        var line = sum.Stdout!.Receive<string>(s_timeout);
        var code = sum.Join(s_timeout);
        Check(line.StartsWith("sum 42 x a,b pid ", StringComparison.Ordinal), $"the method got its arguments: '{line}'");
        Check(line != $"sum 42 x a,b pid {Environment.ProcessId}", "the method ran in another process");
        Check(code == 42, $"the method's return value is the exit code: {code}");

        // A runtime object passed as an argument re-attaches in the child.
        var done = new DragonEvent();
        var setter = DragonProcess.Start(ProcessTemplate.FromMethod(SetEvent, done));
        Check(done.TryWait(s_timeout), "the child set the event it was passed");
        Check(setter.Join(s_timeout) == 0, "the event setter exited 0");

        // A queue passed to a method: the child puts on it, the parent gets.
        using (var results = new DragonQueue<string>())
        {
            var producer = DragonProcess.Start(ProcessTemplate.FromMethod(Produce, results, 3));
            var got = Enumerable.Range(0, 3).Select(_ => results.Get(timeout: s_timeout)).ToArray();
            Check(producer.Join(s_timeout) == 0 && string.Join(",", got) == "item 0,item 1,item 2", $"a queue passed to a method carried its items: {string.Join(",", got)}");
        }

        // A group of methods named by type and name.
        using (var group = new ProcessGroup())
        {
            group.AddProcess(8, ProcessTemplate.FromMethod(typeof(AotScenarios), nameof(Quiet)));
            group.Start();
            group.Join(s_timeout);
            Check(group.GetStatus().ExitStatus.Count == 8 && group.GetStatus().ExitStatus.All(s => s.ExitCode == 0), $"a group of 8 methods all exited 0: {string.Join(",", group.GetStatus().ExitStatus.Select(s => s.ExitCode))}");
        }

        // An argument too large for the environment: the child fetches its target from the node service.
        var measurer = DragonProcess.Start(ProcessTemplate.FromMethod(Length, new string('x', 100_000)) with { Stdout = Stdio.Pipe });
        var measured = measurer.Stdout!.Receive<string>(s_timeout);
        Check(measurer.Join(s_timeout) == 0 && measured == "length 100000", $"a 100 kB argument arrived whole ({measured})");

        // A method that throws: exit code 1 and the exception on stderr.
        var thrower = DragonProcess.Start(ProcessTemplate.FromMethod(Throw) with { Stderr = Stdio.Pipe });
        var error = string.Join('\n', thrower.Stderr!.ReadAllAsync<string>().ToBlockingEnumerable());
        Check(thrower.Join(s_timeout) == 1, "a throwing method exits 1");
        Check(error.Contains("AotScenarios.Throw", StringComparison.Ordinal) && error.Contains("thrown on purpose", StringComparison.Ordinal), $"stderr names the method and the exception: {error.Split('\n')[0]}");
        return s_failures == 0 ? 0 : 1;
    }

    public static int BadArgs()
    {
        try
        {
            _ = ProcessTemplate.FromMethod(Move, new Point(1, 2));
            Check(false, "a record argument was accepted without reflection-based serialization");
        }
        catch (ArgumentException e)
        {
            Check(e.Message.Contains("argument 0 (point", StringComparison.Ordinal) && e.Message.Contains("Point", StringComparison.Ordinal), $"the error names the argument and its type: {e.Message}");
        }

        var still = DragonProcess.Start(ProcessTemplate.FromMethod(Sum, 1, 1L, "y", Array.Empty<string>()));
        Check(still.Join(s_timeout) == 2, "the runtime still starts methods afterwards");
        return s_failures == 0 ? 0 : 1;
    }

    public static int Sum(int a, long b, string text, string[] parts)
    {
        Console.WriteLine($"sum {a + b} {text} {string.Join(',', parts)} pid {Environment.ProcessId}");
        return (int)(a + b);
    }

    public static void SetEvent(DragonEvent done) => done.Set();

    public static void Produce(DragonQueue<string> queue, int count)
    {
        for (var i = 0; i < count; i++)
        {
            queue.Put($"item {i}");
        }
    }

    public static void Length(string text) => Console.WriteLine($"length {text.Length}");

    public static void Quiet()
    {
    }

    public static void Throw() => throw new InvalidOperationException("thrown on purpose");

    public static void Move(Point point) => Console.WriteLine(point);

    private static void Check(bool condition, string what)
    {
        Console.WriteLine(condition ? $"CHECK {what}" : $"FAIL {what}");
        if (!condition)
        {
            s_failures++;
        }
    }
}
