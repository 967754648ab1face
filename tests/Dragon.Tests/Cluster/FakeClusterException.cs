namespace Dragon.Tests.Cluster;

/// <summary>The fake cluster cannot run on this machine, could not be brought up, or left something behind.</summary>
public sealed class FakeClusterException : Exception
{
    /// <summary>Creates the exception; the message names the step and carries the script's output.</summary>
    public FakeClusterException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
