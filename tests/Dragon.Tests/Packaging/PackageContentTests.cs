using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Packaging;

/// <summary>
/// What scripts/pack puts in the feed: each package holds exactly its files, under one version, and the library's
/// public surface is the declared one (PublicAPI.Shipped.txt plus PublicAPI.Unshipped.txt).
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PackageContentTests(PackageFeed feed)
{
    [Fact]
    public void Feed_AfterPack_HoldsTheSixPackagesOfTheOneVersion()
    {
        string[] expected = ["Dragon", "Dragon.Hosting", "Dragon.Services", "Dragon.Templates", "Dragon.Tool", "Dragon.Tool.linux-x64"];
        var packages = Directory.GetFiles(feed.Directory, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.Select(id => $"{id}.{feed.Version}.nupkg"), packages);
        foreach (var id in expected)
        {
            var metadata = Nuspec(feed.Package(id));
            Assert.Equal(id, Value(metadata, "id"));
            Assert.Equal(feed.Version, Value(metadata, "version"));
            Assert.Equal("MIT", Value(metadata, "license"));
            Assert.Equal("README.md", Value(metadata, "readme"));
        }
    }

    [Fact]
    public void LibraryPackage_Files_AreTheAssemblyDocsAndSymbolsWithSources()
    {
        var package = feed.Package("Dragon");
        Assert.Equal(["Dragon.nuspec", "README.md", "lib/net10.0/Dragon.dll", "lib/net10.0/Dragon.pdb", "lib/net10.0/Dragon.xml"], Files(package));
        Assert.Equal(["Microsoft.Extensions.Logging.Abstractions"], Dependencies(package));

        // The pdb belongs to this dll, and carries every source file of the library, so no source server is needed.
        using var pe = new PEReader(new MemoryStream(Read(package, "lib/net10.0/Dragon.dll")));
        var codeView = pe.ReadCodeViewDebugDirectoryData(pe.ReadDebugDirectory().Single(d => d.Type == DebugDirectoryEntryType.CodeView));
        using var pdbProvider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(Read(package, "lib/net10.0/Dragon.pdb")));
        var pdb = pdbProvider.GetMetadataReader();
        Assert.Equal(codeView.Guid, new Guid(pdb.DebugMetadataHeader!.Id.AsSpan(0, 16)));
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        var embedded = pdb.CustomDebugInformation.Select(pdb.GetCustomDebugInformation).Count(i => pdb.GetGuid(i.Kind) == embeddedSource);
        Assert.True(pdb.Documents.Count > 20 && embedded == pdb.Documents.Count, $"{embedded} of {pdb.Documents.Count} sources embedded");

        var docs = Xml(package, "lib/net10.0/Dragon.xml");
        Assert.Contains(docs.Descendants("member"), m => (string?)m.Attribute("name") == "T:Dragon.ProcessGroup");
    }

    [Fact]
    public void HostingPackages_Files_AreTheirAssemblyDocsAndSymbolsAndTheyDependOnTheLibrary()
    {
        var hosting = feed.Package("Dragon.Hosting");
        Assert.Equal(["Dragon.Hosting.nuspec", "README.md", "lib/net10.0/Dragon.Hosting.dll", "lib/net10.0/Dragon.Hosting.pdb", "lib/net10.0/Dragon.Hosting.xml"], Files(hosting));
        Assert.Equal(["Dragon.Services"], Dependencies(hosting));
        var services = feed.Package("Dragon.Services");
        Assert.Equal(["Dragon.Services.nuspec", "README.md", "lib/net10.0/Dragon.Services.dll", "lib/net10.0/Dragon.Services.pdb", "lib/net10.0/Dragon.Services.xml"], Files(services));
        Assert.Equal(["Dragon", "Microsoft.Extensions.Logging.Abstractions"], Dependencies(services));
    }

    [Fact]
    public void ToolPackages_Files_AreThePointerAndTheNativeLauncher()
    {
        var pointer = feed.Package("Dragon.Tool");
        Assert.Equal(["Dragon.Tool.nuspec", "README.md", "tools/any/any/DotnetToolSettings.xml"], Files(pointer));
        Assert.Equal("DotnetTool", PackageType(pointer));
        var settings = Xml(pointer, "tools/any/any/DotnetToolSettings.xml");
        Assert.Equal("dragon", (string?)settings.Descendants("Command").Single().Attribute("Name"));
        Assert.Equal("Dragon.Tool.linux-x64", (string?)settings.Descendants("RuntimeIdentifierPackage").Single(e => (string?)e.Attribute("RuntimeIdentifier") == "linux-x64").Attribute("Id"));

        var native = feed.Package("Dragon.Tool.linux-x64");
        Assert.Equal(["Dragon.Tool.linux-x64.nuspec", "README.md", "tools/any/linux-x64/DotnetToolSettings.xml", "tools/any/linux-x64/Dragon.Launcher"], Files(native));
        Assert.Equal("DotnetToolRidPackage", PackageType(native));
        var launcher = Read(native, "tools/any/linux-x64/Dragon.Launcher");
        Assert.True(launcher.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), "the launcher is a native (ELF) executable");
    }

    [Fact]
    public void TemplatePackage_Files_AreTheWorkflowTemplateReferencingThisVersion()
    {
        var package = feed.Package("Dragon.Templates");
        Assert.Equal(
            ["Dragon.Templates.nuspec", "README.md", "content/dragon-workflow/.template.config/template.json", "content/dragon-workflow/DragonWorkflow.csproj", "content/dragon-workflow/Program.cs"],
            Files(package));
        Assert.Equal("Template", PackageType(package));
        var project = Xml(package, "content/dragon-workflow/DragonWorkflow.csproj");
        var reference = project.Descendants("PackageReference").Single();
        Assert.Equal(("Dragon.Hosting", feed.Version), ((string?)reference.Attribute("Include"), (string?)reference.Attribute("Version")));
    }

    /// <summary>
    /// The public types and members of the packed Dragon.dll, read from its metadata (nothing is loaded), against the
    /// declared API. Compared by name: types, properties, events and fields by name, methods by name and number of
    /// overloads; parameter and return types are left to the PublicAPI analyzer, which checks them at every build.
    /// </summary>
    [Fact]
    public void LibraryPackage_PublicApi_EqualsDeclaredApi()
    {
        var packed = AssertDeclared("Dragon");
        Assert.Contains("M:Dragon.DragonQueue<T>.Put 1", packed);
        Assert.Contains("M:Dragon.LocalRuntime.StartAsync 1", AssertDeclared("Dragon.Hosting"));
    }

    /// <summary>The packed assembly's public names equal the declared ones (Shipped plus Unshipped).</summary>
    private string[] AssertDeclared(string id)
    {
        var declared = PublicApiNames.FromDeclarations(
            File.ReadAllLines(Path.Combine(Repo.Root, "src", id, "PublicAPI.Shipped.txt"))
                .Concat(File.ReadAllLines(Path.Combine(Repo.Root, "src", id, "PublicAPI.Unshipped.txt"))));
        var packed = PublicApiNames.FromAssembly(Read(feed.Package(id), $"lib/net10.0/{id}.dll"));

        var missing = declared.Except(packed).ToArray();
        var undeclared = packed.Except(declared).ToArray();
        Assert.True(
            missing.Length == 0 && undeclared.Length == 0,
            $"{id}: declared but not in the package:\n  {string.Join("\n  ", missing)}\nin the package but not declared:\n  {string.Join("\n  ", undeclared)}");
        return packed.ToArray();
    }

    /// <summary>The package's files, less the parts every package has (relationships, content types, core properties).</summary>
    private static string[] Files(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName)
            .Where(n => n != "[Content_Types].xml" && !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    private static byte[] Read(string package, string file)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = (zip.GetEntry(file) ?? throw new FileNotFoundException($"{file} is not in {package}")).Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>An XML file of the package (read as a stream: some start with a byte-order mark).</summary>
    private static XDocument Xml(string package, string file) => XDocument.Load(new MemoryStream(Read(package, file)));

    private static XElement Nuspec(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static string[] Dependencies(string package) =>
        Nuspec(package).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")?.Value ?? "").Order(StringComparer.Ordinal).ToArray();

    private static string? Value(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    private static string? PackageType(string package) =>
        (string?)Nuspec(package).Descendants().Single(e => e.Name.LocalName == "packageType").Attribute("name");
}
