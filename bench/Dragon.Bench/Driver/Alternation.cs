namespace Dragon.Bench.Driver;

/// <summary>
/// Runs our measurement and the peer's in turn, round after round, so that whatever else loads the machine hits
/// both alike. Odd rounds reverse the order, so neither side always runs right after the other.
/// </summary>
internal static class Alternation
{
    public static void Run(string title, int rounds, params Action[] steps)
    {
        for (var round = 0; round < rounds; round++)
        {
            Console.Error.Write($"\r  {title}: round {round + 1}/{rounds}   ");
            var order = round % 2 == 0 ? steps : steps.Reverse();
            foreach (var step in order)
            {
                step();
            }
        }

        Console.Error.WriteLine();
    }
}
