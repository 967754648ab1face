using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Dragon.Services.Pmi;

/// <summary>
/// The server's end of one rank's PMI socketpair. Reads request lines and answers them in order,
/// always for the one rank of one job the pair was made for. Any protocol error closes this
/// connection only.
/// </summary>
internal sealed partial class PmiConnection
{
    /// <summary>The longest request line accepted, without its newline (MPICH's PMIU_MAXLINE).</summary>
    internal const int MaxLineLength = 1024;

    // Holds several pipelined lines; after compaction at most one partial line (<= MaxLineLength)
    // is kept, so there is always room to receive.
    private const int BufferSize = 4096;

    private static readonly ReadOnlyMemory<byte> s_barrierOut = "cmd=barrier_out\n"u8.ToArray();

    private readonly PmiServer _server;
    private readonly PmiJob _job;
    private readonly int _rank;
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private readonly byte[] _receiveBuffer = new byte[BufferSize];
    private readonly byte[] _sendBuffer = new byte[BufferSize];

    // Replies come from the read loop, barrier_out from whichever rank completed the barrier.
    // Never disposed: a late barrier_out may still wait on it after the loop ended.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Task _completion = Task.CompletedTask;
    private bool _spoke;
    private bool _inSpawn;
    private volatile bool _closedByServer;

    public PmiConnection(PmiServer server, PmiJob job, int rank, Socket socket, ILogger logger)
    {
        _server = server;
        _job = job;
        _rank = rank;
        _socket = socket;
        _logger = logger;
    }

    /// <summary>Completes when the read loop has ended and the socket is closed.</summary>
    public Task Completion => _completion;

    /// <summary>Starts the read loop.</summary>
    public void Start() => _completion = RunAsync();

    /// <summary>Closes the socket on the server's initiative (job or server closed); nothing is reported.</summary>
    public void Close()
    {
        _closedByServer = true;
        _socket.Dispose();
    }

    /// <summary>Releases the rank from its barrier, without waiting for the send.</summary>
    public void SendBarrierOut()
    {
        var sending = SendAsync(s_barrierOut);
        if (sending.IsCompletedSuccessfully)
        {
            sending.GetAwaiter().GetResult();
        }
        else
        {
            _ = sending.AsTask();
        }
    }

    private async Task RunAsync()
    {
        // Yield so the spawning thread goes straight on.
        await Task.Yield();
        string? failure = null;
        bool peerClosed = false;
        try
        {
            int start = 0;
            int end = 0;
            while (true)
            {
                int newline = _receiveBuffer.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    if (newline > MaxLineLength)
                    {
                        throw PmiProtocolException.LineTooLong(newline, MaxLineLength);
                    }
                    int responseLength = Handle(_receiveBuffer.AsSpan(start, newline));
                    start += newline + 1;
                    if (responseLength > 0)
                    {
                        await SendAsync(_sendBuffer.AsMemory(0, responseLength)).ConfigureAwait(false);
                    }
                    continue;
                }
                if (end - start > MaxLineLength)
                {
                    throw PmiProtocolException.LineTooLong(end - start, MaxLineLength);
                }
                if (start > 0)
                {
                    Buffer.BlockCopy(_receiveBuffer, start, _receiveBuffer, 0, end - start);
                    end -= start;
                    start = 0;
                }

                int received = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    peerClosed = true;
                    break;
                }
                end += received;
            }
        }
        catch (PmiProtocolException e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Reset by the peer, or closed by us (then _closedByServer is set).
            peerClosed = true;
        }
        catch (Exception e)
        {
            // A bug of ours must cost this connection only, never the server.
            PmiLog.ConnectionFailed(_logger, _job.KvsName, _rank, e);
            failure = $"PMI server error: {e.Message}";
        }
        finally
        {
            _socket.Dispose();
            _server.Forget(this);
        }

        if (_closedByServer)
        {
            return;
        }
        if (failure is not null)
        {
            _job.OnProtocolError(_rank, failure);
        }
        else if (peerClosed)
        {
            _job.OnDisconnected(_rank);
        }
    }

    /// <summary>Handles one request line; returns the length of the response written to the send buffer (0: none).</summary>
    private int Handle(ReadOnlySpan<byte> line)
    {
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            PmiLog.Request(_logger, _job.KvsName, _rank, Encoding.Latin1.GetString(line));
        }
        if (!_spoke)
        {
            // Its first request (cmd=init in FD mode): the rank is inside MPI_Init.
            _spoke = true;
            _job.OnConnected(_rank);
        }

        var response = new PmiResponseWriter(_sendBuffer);
        if (_inSpawn)
        {
            // The body of mcmd=spawn is read and dropped; Debian's ch4:ucx cannot spawn anyway.
            if (line.SequenceEqual("endcmd"u8))
            {
                _inSpawn = false;
                response.Append("cmd=spawn_result rc=-1\n"u8);
            }
            return response.Length;
        }

        if (!PmiRequest.TryParse(line, out var request, out string? error))
        {
            throw PmiProtocolException.Unparsable(line, error);
        }
        if (request.IsMultiLine)
        {
            if (!request.Command.SequenceEqual("spawn"u8))
            {
                throw PmiProtocolException.UnknownCommand(line);
            }
            _inSpawn = true;
            return 0;
        }

        Dispatch(_job, request, line, ref response);
        return response.Length;
    }

    /// <summary>Sends bytes under the write lock; a failed send is left to the read loop to notice.</summary>
    private async ValueTask SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            while (!bytes.IsEmpty)
            {
                int sent = await _socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
                bytes = bytes[sent..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone or the socket was closed; the read loop reports it.
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
