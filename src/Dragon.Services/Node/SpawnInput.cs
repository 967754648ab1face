using Dragon.Runtime.Protocol;
using Dragon.Services.Global;

namespace Dragon.Services.Node;

/// <summary>
/// Checks what a start request asks the node to exec before anything is spawned. The client library checks the
/// same, but a request may come from any process of the run: a NUL would silently cut a C string short.
/// </summary>
internal static class SpawnInput
{
    /// <exception cref="ServiceException">Invalid argument, naming which field and why.</exception>
    public static void Validate(ProcessSpec spec)
    {
        NoNul(spec.Executable, "the executable");
        for (var i = 0; i < spec.Args.Length; i++)
        {
            NoNul(spec.Args[i], $"argument {i + 1}");
        }

        if (spec.Cwd is not null)
        {
            NoNul(spec.Cwd, "the working directory");
        }

        foreach (var (key, value) in spec.Env)
        {
            if (key.Length == 0 || key.Contains('=', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
            {
                throw Invalid($"environment variable name '{Printable(key)}' is not valid (empty, or holds '=' or a NUL character)");
            }

            if (value != ProcessTemplate.EnvUnsetMarker)
            {
                NoNul(value, $"the value of environment variable {key}");
            }
        }
    }

    private static void NoNul(string text, string what)
    {
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            throw Invalid($"{what} contains a NUL character at position {text.IndexOf('\0', StringComparison.Ordinal)}: '{Printable(text)}'");
        }
    }

    private static ServiceException Invalid(string message) => new(ErrorKind.InvalidArgument, message);

    private static string Printable(string text) => text.Replace("\0", "\\0", StringComparison.Ordinal);
}
