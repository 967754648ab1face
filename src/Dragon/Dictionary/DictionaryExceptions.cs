namespace Dragon;

/// <summary>
/// A dictionary manager has no room for a write: its memory or its key table is full (or /dev/shm is). The message
/// names the manager and its sizes. Nothing of the failed write went in; everything the manager held is intact.
/// </summary>
public sealed class DictionaryFullException : DragonException
{
    /// <summary>Creates the exception with the reason.</summary>
    public DictionaryFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public DictionaryFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DictionaryFullException()
    {
    }
}

/// <summary>
/// A read or write named a checkpoint the manager does not hold: retired (older than its working set), or not there
/// yet when the dictionary was made to fail rather than wait (<see cref="DragonDictionaryOptions.WaitForCheckpoints"/>).
/// </summary>
public sealed class DictionaryCheckpointException : DragonException
{
    /// <summary>Creates the exception with the reason.</summary>
    public DictionaryCheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public DictionaryCheckpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DictionaryCheckpointException()
    {
    }
}

/// <summary>
/// A dictionary manager is gone with its node: the keys it held are lost. A dictionary persisted with
/// <c>Persist</c> can be rebuilt in a new one from its last checkpoint (<see cref="DragonDictionaryOptions.RestoreFrom"/>).
/// </summary>
public sealed class DictionaryManagerLostException : DragonException
{
    /// <summary>Creates the exception with the reason.</summary>
    public DictionaryManagerLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public DictionaryManagerLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DictionaryManagerLostException()
    {
    }
}
