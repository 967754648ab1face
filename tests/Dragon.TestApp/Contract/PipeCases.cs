namespace Dragon.TestApp;

/// <summary>The pipe-only cases: Poll on the reading end, the wrong end of a one-way pipe, and (async mode) a cancelled receive.</summary>
public static class PipeCases
{
    private static readonly TimeSpan s_asked = TimeSpan.FromMilliseconds(1000);

    /// <summary>Polls an empty pipe, then while another process writes two documents and closes its end.</summary>
    public static async Task<PollResult> Poll(ContractApi api, ContractLayout layout)
    {
        using var pipe = ChannelPair<Document>.Create(ContractCommand.Pipe, layout.Home);
        var reader = pipe.Receiver.End!;
        var emptyZero = await api.Poll(reader, TimeSpan.Zero);
        var (emptyTimed, emptyTimedMs) = await Measure.Ms(() => api.Poll(reader, s_asked));
        using var go = ContractApi.NewEvent(layout.Home);
        var writer = ContractLayout.Start(layout, WriteAfterSignal, api.Mode, pipe.Sender, go);
        await api.Set(go);
        var (whenSent, whenSentMs) = await Measure.Ms(() => api.Poll(reader, TimeSpan.FromSeconds(10)));
        var stillTrue = await api.Poll(reader, TimeSpan.Zero);
        var first = await api.Receive<Document>(reader, TimeSpan.FromSeconds(5)) == Payloads.Doc(100);
        var second = await api.Receive<Document>(reader, TimeSpan.FromSeconds(5)) == Payloads.Doc(200);
        ContractLayout.Join(writer);
        var atEnd = await api.Poll(reader, TimeSpan.FromSeconds(5));
        var receiveAtEnd = await Measure.Thrown(() => api.Receive<Document>(reader, TimeSpan.FromSeconds(5)));
        var readAll = (await api.ReceiveAll<Document>(reader)).Count;
        return new PollResult(!emptyZero, !emptyTimed, emptyTimedMs, s_asked.TotalMilliseconds, whenSent, whenSentMs, stillTrue, first, second, atEnd, receiveAtEnd, readAll);
    }

    public static async Task<int> WriteAfterSignal(string mode, ContractChannel<Document> channel, DragonEvent go)
    {
        var api = ContractApi.For(mode);
        await api.TryWait(go, TimeSpan.FromSeconds(30));
        await Task.Delay(200);
        await api.Send(channel, Payloads.Doc(100));
        await api.Send(channel, Payloads.Doc(200));
        await api.Close(channel);
        return 0;
    }

    /// <summary>Each end used the wrong way, and a closed end used.</summary>
    public static async Task<PipeBadInputResult> BadInput(ContractApi api, ContractLayout layout)
    {
        var (reader, writer) = ContractApi.NewPipe(layout.Home);
        var sendOnReader = await Measure.Thrown(() => api.Send(reader, 1));
        var receiveOnWriter = await Measure.Thrown(() => api.Receive<int>(writer, TimeSpan.Zero));
        var pollOnWriter = await Measure.Thrown(() => api.Poll(writer, TimeSpan.Zero));
        await api.Close(writer);
        var sendAfterClose = await Measure.Thrown(() => api.Send(writer, 1));
        var receiveAfterWriterClosed = await Measure.Thrown(() => api.Receive<int>(reader, TimeSpan.FromSeconds(1)));
        await api.Close(reader);
        return new PipeBadInputResult(sendOnReader, receiveOnWriter, pollOnWriter, sendAfterClose, receiveAfterWriterClosed);
    }

    /// <summary>A receive cancelled while it waits on an empty pipe; then another process sends one message.</summary>
    public static async Task<CancelResult> CancelledReceive(ContractApi api, ContractLayout layout)
    {
        using var pipe = ChannelPair<int>.Create(ContractCommand.Pipe, layout.Home);
        var (ended, ms) = await Measure.Cancel(token => api.Receive<int>(pipe.Receiver.End!, token));
        ContractLayout.Join(ContractLayout.Start(layout, SendOne, api.Mode, pipe.Sender, 42));
        var (got, item) = await api.TryReceive(pipe.Receiver, TimeSpan.FromSeconds(5));
        return new CancelResult(ended, ms, got && item == 42);
    }

    public static async Task<int> SendOne(string mode, ContractChannel<int> channel, int value)
    {
        await ContractApi.For(mode).Send(channel, value);
        return 0;
    }
}
