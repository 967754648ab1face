using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>Where a standard stream of a new process goes: a pipe to the program, nowhere, the launcher's, or a file.</summary>
public sealed class Stdio
{
    private Stdio(StdioKind kind, string? path)
    {
        Kind = kind;
        Path = path;
    }

    /// <summary>Piped: readable as a <see cref="Connection"/> (stdout, stderr) or writable (stdin).</summary>
    public static Stdio Pipe { get; } = new(StdioKind.Pipe, null);

    /// <summary>Discarded (or, for stdin, empty).</summary>
    public static Stdio DevNull { get; } = new(StdioKind.DevNull, null);

    /// <summary>Forwarded to the launcher's own stream (labelled with <c>--label</c>).</summary>
    public static Stdio Inherit { get; } = new(StdioKind.Inherit, null);

    /// <summary>For stderr only: into the same place as stdout.</summary>
    public static Stdio Stdout { get; } = new(StdioKind.Stdout, null);

    internal StdioKind Kind { get; }

    internal string? Path { get; }

    /// <summary>A file on the node where the process runs: created or truncated for output, read for stdin.</summary>
    public static Stdio File(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new Stdio(StdioKind.File, System.IO.Path.GetFullPath(path));
    }

    internal StdioSpec ToSpec() => new(Kind, Path);

    /// <inheritdoc/>
    public override string ToString() => Kind == StdioKind.File ? $"File({Path})" : Kind.ToString();
}
