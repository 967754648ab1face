namespace Dragon.TestApp;

internal sealed class CheckFailedException(string message) : Exception(message);

internal static class Check
{
    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new CheckFailedException(what);
        }

        Console.WriteLine($"CHECK {what}");
    }

    public static T Throws<T>(Action action, string what)
        where T : Exception
    {
        try
        {
            action();
        }
        catch (T e)
        {
            Console.WriteLine($"CHECK {what}: {e.GetType().Name}: {e.Message}");
            return e;
        }
        catch (Exception e)
        {
            throw new CheckFailedException($"{what}: expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        }

        throw new CheckFailedException($"{what}: expected {typeof(T).Name}, nothing was thrown");
    }

    public static async Task<T> ThrowsAsync<T>(Func<Task> action, string what)
        where T : Exception
    {
        try
        {
            await action();
        }
        catch (T e)
        {
            Console.WriteLine($"CHECK {what}: {e.GetType().Name}: {e.Message}");
            return e;
        }
        catch (Exception e)
        {
            throw new CheckFailedException($"{what}: expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        }

        throw new CheckFailedException($"{what}: expected {typeof(T).Name}, nothing was thrown");
    }

    public static int Usage(string scenario)
    {
        Console.Error.WriteLine($"unknown scenario '{scenario}'");
        return 2;
    }
}
