using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;

namespace Dragon.Services.Pmi;

/// <summary>
/// One request line of the PMI-1 wire protocol, <c>cmd=name key=value ...</c>, read in place
/// from the receive buffer (no copies, no allocations).
/// </summary>
internal readonly ref struct PmiRequest
{
    private readonly ReadOnlySpan<byte> _line;

    private PmiRequest(ReadOnlySpan<byte> line, ReadOnlySpan<byte> command, bool isMultiLine)
    {
        _line = line;
        Command = command;
        IsMultiLine = isMultiLine;
    }

    /// <summary>The value of the first token, <c>cmd=</c> or <c>mcmd=</c>.</summary>
    public ReadOnlySpan<byte> Command { get; }

    /// <summary>True for <c>mcmd=</c>: the request goes on over more lines up to <c>endcmd</c>.</summary>
    public bool IsMultiLine { get; }

    /// <summary>
    /// Checks that <paramref name="line"/> (without its newline) is a PMI request: printable bytes,
    /// space-separated <c>key=value</c> tokens with non-empty keys, the first one <c>cmd</c> or <c>mcmd</c>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out PmiRequest request, [NotNullWhen(false)] out string? error)
    {
        request = default;
        int control = line.IndexOfAnyInRange((byte)0, (byte)0x1F);
        if (control < 0)
        {
            control = line.IndexOf((byte)0x7F);
        }
        if (control >= 0)
        {
            error = $"control byte 0x{line[control]:X2} at offset {control}";
            return false;
        }

        ReadOnlySpan<byte> command = default;
        bool isMultiLine = false;
        bool first = true;
        var rest = line;
        for (var token = NextToken(ref rest); !token.IsEmpty; token = NextToken(ref rest))
        {
            int equals = token.IndexOf((byte)'=');
            if (equals <= 0)
            {
                error = equals == 0 ? "a token has an empty key" : "a token is not key=value";
                return false;
            }
            if (first)
            {
                var key = token[..equals];
                isMultiLine = key.SequenceEqual("mcmd"u8);
                if (!isMultiLine && !key.SequenceEqual("cmd"u8))
                {
                    error = "the first token is not cmd=... or mcmd=...";
                    return false;
                }
                command = token[(equals + 1)..];
                first = false;
            }
        }
        if (first)
        {
            error = "empty line";
            return false;
        }
        if (command.IsEmpty)
        {
            error = "empty command name";
            return false;
        }

        request = new PmiRequest(line, command, isMultiLine);
        error = null;
        return true;
    }

    /// <summary>Finds the value of <paramref name="key"/>; false when the token is absent.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        var rest = _line;
        for (var token = NextToken(ref rest); !token.IsEmpty; token = NextToken(ref rest))
        {
            if (token.Length > key.Length && token[key.Length] == (byte)'=' && token.StartsWith(key))
            {
                value = token[(key.Length + 1)..];
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>The value of <paramref name="key"/> as a decimal integer; false when absent or not a number.</summary>
    public bool TryGetInt32(ReadOnlySpan<byte> key, out int value)
    {
        value = 0;
        return TryGet(key, out var text) && Utf8Parser.TryParse(text, out value, out int consumed) && consumed == text.Length;
    }

    /// <summary>The next space-delimited token, empty at the end of the line.</summary>
    private static ReadOnlySpan<byte> NextToken(scoped ref ReadOnlySpan<byte> rest)
    {
        rest = rest.TrimStart((byte)' ');
        int space = rest.IndexOf((byte)' ');
        var token = space < 0 ? rest : rest[..space];
        rest = space < 0 ? default : rest[(space + 1)..];
        return token;
    }
}
