using System.Globalization;

namespace Dragon.Launcher.Status;

/// <summary>
/// Shows a long bring-up as it goes: "dragon: 12/64 nodes registered", redrawn in place on the launcher's stderr
/// while node services come up, and left at its final count once they all have. Only when stderr is a terminal (a pipe, a file or a
/// test sees nothing), and only once the bring-up has taken <see cref="Quiet"/>, so a quick one never flickers.
/// <c>DRAGON_PROGRESS=always</c> shows it wherever stderr goes and from the start; <c>never</c> never does.
/// </summary>
internal sealed class BringUpProgress : IDisposable
{
    public const string Variable = "DRAGON_PROGRESS";

    /// <summary>A bring-up quicker than this shows nothing.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(400);

    private static readonly TimeSpan s_redraw = TimeSpan.FromMilliseconds(100);

    private readonly int _total;
    private readonly Func<int> _registered;
    private readonly Timer _timer;
    private readonly System.Threading.Lock _lock = new();
    private bool _drawn;
    private bool _disposed;

    private BringUpProgress(int total, Func<int> registered, bool always)
    {
        _total = total;
        _registered = registered;
        _drawn = always;
        _timer = new Timer(_ => Draw(), null, always ? TimeSpan.Zero : Quiet, s_redraw);
    }

    /// <summary>Starts showing progress when stderr is a terminal; otherwise returns a progress that draws nothing.</summary>
    public static IDisposable Start(int total, Func<int> registered) => Environment.GetEnvironmentVariable(Variable) switch
    {
        "always" => new BringUpProgress(total, registered, always: true),
        "never" => NoProgress.Instance,
        _ when Console.IsErrorRedirected => NoProgress.Instance,
        _ => new BringUpProgress(total, registered, always: false),
    };

    private void Draw()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            // \r and erase-to-end-of-line: the line is redrawn in place, never scrolls.
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\rdragon: {_registered()}/{_total} nodes registered\u001b[K"));
            _drawn = true;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timer.Dispose();
            if (_drawn)
            {
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\rdragon: {_registered()}/{_total} nodes registered\n"));
            }
        }
    }

    private sealed class NoProgress : IDisposable
    {
        public static readonly NoProgress Instance = new();

        public void Dispose()
        {
        }
    }
}
