namespace Dragon.TestApp;

/// <summary>What the queue contract measured in one run (one layout, one mode); a case that failed is null and listed in <c>Failures</c>.</summary>
public sealed record QueueContractResult(
    string Layout,
    string Mode,
    OrderResult? Order,
    SizeResult[]? Sizes,
    CloseResult? Close,
    TimeoutsResult? Timeouts,
    QueueBadInputResult? BadInput,
    ManyResult? Many,
    KilledInGetResult? KilledInGet,
    KilledInPutResult? KilledInPut,
    CancelResult? CancelledGet,
    CaseFailure[] Failures);

/// <summary>Each bad call on a queue: the exception it threw (null: it did not throw) and what its message names.</summary>
public sealed record QueueBadInputResult(
    string? PutTooLarge,
    bool TooLargeNamesSizeLimitAndQueue,
    string? TryPutTooLarge,
    bool NothingDeliveredAfterTooLarge,
    bool WithinLimitDelivered,
    string? PutAfterClose,
    bool ClosedNamesQueueAndSaysClosed,
    string? GetAfterCloseDrained,
    string? PutAfterDispose,
    bool DisposedNamesQueue,
    string? AttachDestroyed,
    bool DestroyedNamesQueue,
    string? AttachNeverCreated);

/// <summary>Producers and consumers (processes) moved <c>Total</c> numbered messages through one queue.</summary>
/// <remarks>
/// OrderViolations: Per consumer, messages of a producer that came after a later one of the same producer.
/// </remarks>
public sealed record ManyResult(
    int Producers,
    int Consumers,
    int Total,
    int[] TakenPerConsumer,
    int Lost,
    int Duplicates,
    int Unknown,
    int OrderViolations,
    int?[] ExitCodes,
    double Seconds);

/// <summary>Two consumers blocked in a get; the first was killed (SIGKILL) and a message put.</summary>
public sealed record KilledInGetResult(
    string? KilledExitReason,
    bool SurvivorGotTheMessage,
    double SurvivorMs,
    int? SurvivorExitCode,
    bool QueueWorksAfterwards);

/// <summary>A producer killed (SIGKILL) in the middle of a 16 MiB put into a 1 MiB ring that nobody drained.</summary>
/// <remarks>
/// WholeLargeMessagesFirst: Whole 16 MiB messages received before the next one (0, or 1 on two nodes where the put may have been handed over whole).
/// </remarks>
public sealed record KilledInPutResult(
    bool AliveMidPut,
    string? KilledExitReason,
    double PutAfterKillMs,
    int WholeLargeMessagesFirst,
    bool NextMessageIntact,
    double GetAfterKillMs,
    bool NothingElseLeft,
    bool NewLargeMessageIntact);
