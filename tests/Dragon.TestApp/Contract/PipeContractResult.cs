namespace Dragon.TestApp;

/// <summary>What the pipe contract measured in one run (one layout, one mode); a case that failed is null and listed in <c>Failures</c>.</summary>
public sealed record PipeContractResult(
    string Layout,
    string Mode,
    OrderResult? Order,
    SizeResult[]? Sizes,
    CloseResult? Close,
    TimeoutsResult? Timeouts,
    PollResult? Poll,
    PipeBadInputResult? BadInput,
    CancelResult? CancelledReceive,
    CaseFailure[] Failures);

/// <summary>Poll on a one-way pipe's reading end while another process writes two documents and closes.</summary>
public sealed record PollResult(
    bool EmptyZero,
    bool EmptyTimed,
    double EmptyTimedMs,
    double AskedMs,
    bool WhenSent,
    double WhenSentMs,
    bool StillTrueAfterPoll,
    bool FirstIntact,
    bool SecondIntact,
    bool AtEndOfStream,
    string? ReceiveAtEndOfStream,
    int ReadAllAfterEnd);

/// <summary>Each wrong use of a pipe end: the exception it threw (null: it did not throw).</summary>
public sealed record PipeBadInputResult(
    string? SendOnReadingEnd,
    string? ReceiveOnWritingEnd,
    string? PollOnWritingEnd,
    string? SendAfterClosingTheEnd,
    string? ReceiveAfterWriterClosed);
