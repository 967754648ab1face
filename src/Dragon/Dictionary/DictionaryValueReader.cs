namespace Dragon;

/// <summary>
/// Makes a result out of a dictionary value's bytes where they lie (<see cref="DragonDictionary{TKey, TValue}.TryReadValue"/>):
/// the span is valid only during the call.
/// </summary>
/// <typeparam name="TResult">What the reader makes of the bytes.</typeparam>
/// <param name="value">The value's bytes: shared memory on the manager's node, a reply's bytes on another.</param>
public delegate TResult DictionaryValueReader<out TResult>(ReadOnlySpan<byte> value);
