namespace Dragon.Services.Spawning;

/// <summary>Signal numbers and names on Linux x86_64.</summary>
internal static class Signals
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>Refuses a number that is no signal (1 to 64, SIGRTMAX), whoever sent it.</summary>
    public static void ThrowIfInvalid(int signal)
    {
        if (signal is < 1 or > 64)
        {
            throw new Global.ServiceException(global::Dragon.Runtime.Protocol.ErrorKind.InvalidArgument, $"signal {signal} is not a signal number (1 to 64)");
        }
    }

    public static string Name(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => "signal " + signal,
    };
}
