using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>
/// A client broke the PMI-1 protocol. Thrown inside a connection's read loop and caught there:
/// the catcher closes that one connection and reports the reason as the rank's ProtocolError
/// event. Nothing else is affected.
/// </summary>
internal sealed class PmiProtocolException : Exception
{
    /// <summary>Quoted lines are cut to this many bytes in messages.</summary>
    private const int QuoteLimit = 80;

    public PmiProtocolException()
    {
    }

    public PmiProtocolException(string message)
        : base(message)
    {
    }

    public PmiProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static PmiProtocolException LineTooLong(int length, int limit) =>
        new($"line of at least {length} bytes exceeds the PMI limit of {limit} bytes");

    public static PmiProtocolException Unparsable(ReadOnlySpan<byte> line, string error) =>
        new($"malformed line ({error}): {Quote(line)}");

    public static PmiProtocolException UnknownCommand(ReadOnlySpan<byte> line) =>
        new($"unknown command: {Quote(line)}");

    public static PmiProtocolException MissingField(ReadOnlySpan<byte> command, string field) =>
        new($"cmd={Encoding.Latin1.GetString(command)} lacks {field}=");

    /// <summary>The line as printable text, cut short, for messages and logs.</summary>
    internal static string Quote(ReadOnlySpan<byte> line)
    {
        var shown = line.Length > QuoteLimit ? line[..QuoteLimit] : line;
        var text = new StringBuilder(shown.Length + 8);
        text.Append('"');
        foreach (byte b in shown)
        {
            if (b is >= 0x20 and < 0x7F)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }
        text.Append('"');
        if (line.Length > QuoteLimit)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"... ({line.Length} bytes)");
        }
        return text.ToString();
    }
}
