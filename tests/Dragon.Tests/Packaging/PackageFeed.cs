using System.Xml.Linq;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Packaging;

/// <summary>
/// The local folder feed that <c>scripts/pack</c> builds (artifacts/packages), packed once for the packaging tests:
/// <c>scripts/test</c> has packed already and the call costs a look at file times; run alone, it packs first.
/// </summary>
public sealed class PackageFeed
{
    public PackageFeed()
    {
        var pack = Commands.Run(Path.Combine(Repo.Root, "scripts", "pack"), [], Repo.Root, TimeSpan.FromMinutes(10));
        Assert.True(pack.ExitCode == 0, $"scripts/pack failed\n{pack}");
        Version = XDocument.Load(Path.Combine(Repo.Root, "Directory.Build.props")).Descendants("Version").Single().Value;
    }

    /// <summary>The package version: &lt;Version&gt; in Directory.Build.props, the one place it is set.</summary>
    public string Version { get; }

    public string Directory { get; } = Path.Combine(Repo.Root, "artifacts", "packages");

    public string Package(string id) => Path.Combine(Directory, $"{id}.{Version}.nupkg");
}

/// <summary>The packaging tests share one packed feed.</summary>
[CollectionDefinition(Name)]
public sealed class PackagingCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "Packaging";
}
