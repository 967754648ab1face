using System.Runtime.CompilerServices;

namespace Dragon;

internal sealed partial class OutputConnection
{
    /// <summary>
    /// Every line of the stream, for <see cref="Connection.ReadAllAsync{T}"/>: a line of the fetched batch is handed out
    /// synchronously (no state machine, compiled optimized from the first call: a reader of a million lines is done
    /// before tiering would get to it), the next batch is fetched once this one is used up. Cancellation as for a
    /// receive: a cancelled fetch takes nothing.
    /// </summary>
    private sealed class LineReader<T>(OutputConnection connection, CancellationToken cancellationToken) : IAsyncEnumerable<T>
    {
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken enumeratorToken = default)
        {
            ThrowUnlessCarried<T>();
            if (!enumeratorToken.CanBeCanceled || enumeratorToken == cancellationToken)
            {
                return new Enumerator(connection, cancellationToken, null);
            }

            if (!cancellationToken.CanBeCanceled)
            {
                return new Enumerator(connection, enumeratorToken, null);
            }

            var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, enumeratorToken);
            return new Enumerator(connection, both.Token, both);
        }

        private sealed class Enumerator(OutputConnection connection, CancellationToken cancellationToken, CancellationTokenSource? linked) : IAsyncEnumerator<T>
        {
            public T Current { get; private set; } = default!;

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public ValueTask<bool> MoveNextAsync()
            {
                if (connection.TryTakeLine(out var line))
                {
                    Current = Convert<T>(line);
                    return ValueTask.FromResult(true);
                }

                return connection.IsEnded ? ValueTask.FromResult(false) : FetchThenMoveNextAsync();
            }

            private async ValueTask<bool> FetchThenMoveNextAsync()
            {
                while (true)
                {
                    _ = await connection.FetchAsync(-1, cancellationToken).ConfigureAwait(false);
                    if (connection.TryTakeLine(out var line))
                    {
                        Current = Convert<T>(line);
                        return true;
                    }

                    if (connection.IsEnded)
                    {
                        return false;
                    }
                }
            }

            public ValueTask DisposeAsync()
            {
                linked?.Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
