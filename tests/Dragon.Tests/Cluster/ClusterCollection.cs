using Xunit;

namespace Dragon.Tests.Cluster;

/// <summary>
/// The tests that need the fake multi-host cluster: <c>[Collection(ClusterCollection.Name)]</c> and a
/// <see cref="FakeCluster"/> constructor parameter. The cluster is brought up once for all of them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<FakeCluster>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "cluster";
}
