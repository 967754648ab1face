namespace Dragon.Fuzz;

/// <summary>
/// One decoder fed with mutated inputs. <see cref="Run"/> must return or throw one of the documented exception
/// types; anything else, a crash of the process, or an input that runs past the watchdog's limit is a failure.
/// </summary>
internal abstract class FuzzTarget
{
    public abstract string Name { get; }

    /// <summary>Valid inputs to start mutating from (every message type the decoder knows, at least once).</summary>
    public abstract IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>Exception types the decoder documents for bad input; an empty list means it never throws.</summary>
    public abstract IReadOnlyList<Type> Documented { get; }

    /// <summary>Decodes one input.</summary>
    public abstract void Run(byte[] input);

    public bool IsDocumented(Exception e) => Documented.Any(t => t.IsInstanceOfType(e));
}
