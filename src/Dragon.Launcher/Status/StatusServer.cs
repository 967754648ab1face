using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dragon.Services.Global;
using Dragon.Services.Runtime;

namespace Dragon.Launcher.Status;

/// <summary>
/// Serves <c>dragon ps</c>: a Unix socket in the run directory (<c>status.sock</c>, mode 0600) where a caller sends
/// one line holding a credential, either the run's secret (what every process of the run has in
/// <c>DRAGON_SECRET</c>) or the run's status token (<c>status.token</c>, mode 0600, which grants this view and
/// nothing else), and gets the run's status as JSON; a wrong credential gets <c>{"error": ...}</c>. Either way the
/// connection then closes. A caller has <see cref="Deadline"/> to send at most <see cref="MaxLineBytes"/>. A line
/// <c>report CREDENTIAL</c> (<see cref="ReportRequest"/>) asks for the run report as it stands (HTML) instead.
/// </summary>
internal sealed class StatusServer : IDisposable
{
    public const int MaxLineBytes = 256;

    /// <summary>The prefix of a line that asks for the run report instead of the status.</summary>
    public const string ReportRequest = "report ";

    private static readonly byte[] s_reportRequest = Encoding.ASCII.GetBytes(ReportRequest);
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    private readonly GlobalServices _global;
    private readonly byte[] _secret;
    private readonly byte[] _token;
    private readonly Socket _listener;
    private readonly string _socketPath;
    private readonly string _tokenPath;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    private StatusServer(GlobalServices global)
    {
        _global = global;
        _secret = Encoding.UTF8.GetBytes(global.Run.Secret);
        _token = Encoding.ASCII.GetBytes(RunContext.RandomHex(32));
        _tokenPath = Path.Combine(global.Run.RunDir, RunLayout.StatusTokenFile);
        using (var file = new FileStream(_tokenPath, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            file.Write(_token);
        }

        _socketPath = Path.Combine(global.Run.RunDir, RunLayout.StatusSocket);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(_socketPath));
        File.SetUnixFileMode(_socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _listener.Listen(16);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public static StatusServer Start(GlobalServices global) => new(global);

    private async Task AcceptLoopAsync()
    {
        var backoff = TimeSpan.FromMilliseconds(10);
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(10);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // Out of descriptors and the like: back off and go on, as the node services do.
                await Task.Delay(backoff).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
                continue;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(Deadline);
        try
        {
            var line = await ReadLineAsync(client, deadline.Token).ConfigureAwait(false);
            var report = line is not null && line.AsSpan().StartsWith(s_reportRequest);
            var credential = report ? line![ReportRequest.Length..] : line;
            var reply = credential is not null && (Matches(credential, _secret) || Matches(credential, _token))
                ? report ? Report.RunReport.Build(_global, final: false) : RunStatus.Write(_global)
                : RunStatus.Error(line is null
                    ? "refused: no credential line (at most 256 bytes within 5 s)"
                    : "refused: the credential is not this run's secret or status token");
            await client.SendAsync(reply, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The caller went away or took too long: nothing to tell it.
        }
    }

    private static bool Matches(byte[] line, byte[] expected) => CryptographicOperations.FixedTimeEquals(line, expected);

    /// <summary>The bytes before the first newline, or null when none comes within the limit.</summary>
    private static async Task<byte[]?> ReadLineAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxLineBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            var end = Array.IndexOf(buffer, (byte)'\n', filled, read);
            filled += read;
            if (end >= 0)
            {
                return buffer[..end];
            }
        }

        return null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Dispose();
        _acceptLoop.Wait(TimeSpan.FromSeconds(1));
        _stopping.Dispose();
        foreach (var path in new[] { _socketPath, _tokenPath })
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
