using System.Net.Sockets;

namespace Dragon.Services.Transport;

/// <summary>
/// Accepting connections in a loop that survives transient failures: out of descriptors (EMFILE, ENFILE), out of
/// buffers, or a connection aborted before it was accepted. Such an error is reported, the loop waits a little
/// (longer while it persists, so a full descriptor table is not spun on) and goes on; only shutdown ends it.
/// </summary>
internal static class Listener
{
    private static readonly TimeSpan s_firstPause = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan s_longestPause = TimeSpan.FromSeconds(1);

    /// <summary>The next connection, or null once <paramref name="stopping"/> is cancelled or the listener is closed.</summary>
    public static async Task<Socket?> AcceptAsync(Socket listener, Action<SocketException> onError, CancellationToken stopping)
    {
        var pause = s_firstPause;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                return await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted || stopping.IsCancellationRequested)
            {
                // The listener was closed under the pending accept: the owner is shutting down.
                return null;
            }
            catch (SocketException e)
            {
                Report(onError, e);
                try
                {
                    await Task.Delay(pause, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }

                pause = pause * 2 < s_longestPause ? pause * 2 : s_longestPause;
            }
        }

        return null;
    }

    /// <summary>Reporting is best effort: out of descriptors, a log that opens its file on first use fails too.</summary>
    private static void Report(Action<SocketException> onError, SocketException e)
    {
        try
        {
            onError(e);
        }
        catch (Exception)
        {
            // Nothing to do: the loop must go on whether or not the error could be written down.
        }
    }
}
