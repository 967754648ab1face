namespace Dragon.TestApp;

/// <summary>What one reader of DictionaryScenarios.Million saw, from its node.</summary>
public sealed record DictionaryReadResult(int Node, int PointReadsRight, int PointReadsWrong, int Enumerated, int EnumeratedRight, int Duplicates, long Count, double Seconds);

/// <summary>The result of DictionaryScenarios.Million.</summary>
public sealed record DictionaryMillionResult(int Keys, int[] WriterExitCodes, double WriteSeconds, long Count, long[] KeysPerManager, DictionaryReadResult[] Readers);

/// <summary>The result of DictionaryScenarios.Counters.</summary>
public sealed record DictionaryCountersResult(long Final, int[] ExitCodes, int[] Nodes, bool StartSeenBeforePut, int StartManagerNode);
