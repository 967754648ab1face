using Dragon.Runtime.Protocol;
using Dragon.Tests.Infrastructure;
using Xunit;

namespace Dragon.Tests.Pmi;

/// <summary>Pmi.Auto's choice from an executable's ELF DT_NEEDED entries, on the real MPI test programs and on files that cannot tell.</summary>
public sealed class MpiLibraryProbeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dragon-probe").FullName;

    [Fact]
    public void Detect_MpichAndOpenMpiBuildsOfOneSource_PmiOneAndPmix()
    {
        Assert.Contains("libmpich.so.12", MpiLibraryProbe.ReadNeeded(Repo.MpiProgram("mpitest")));
        Assert.Contains("libmpi.so.40", MpiLibraryProbe.ReadNeeded(Repo.MpiProgram("mpitest-openmpi")));
        Assert.Equal(PmiMode.Simple, MpiLibraryProbe.Detect(Repo.MpiProgram("mpitest")));
        Assert.Equal(PmiMode.Pmix, MpiLibraryProbe.Detect(Repo.MpiProgram("mpitest-openmpi")));
    }

    [Theory]
    [InlineData("libmpich.so.12", Dragon.Pmi.Simple)]
    [InlineData("libmpi.so.12", Dragon.Pmi.Simple)]
    [InlineData("libmpi.so.40", Dragon.Pmi.Pmix)]
    [InlineData("libmpi_mpifh.so.40", Dragon.Pmi.Pmix)]
    [InlineData("libpmix.so.2", Dragon.Pmi.Pmix)]
    public void Classify_KnownLibraries_TheirPmi(string library, Dragon.Pmi expected) =>
        Assert.Equal((PmiMode)expected, MpiLibraryProbe.Classify(["libc.so.6", library]));

    [Fact]
    public void Detect_ProgramWithoutMpi_ErrorNamesTheFileAndWhatItNeeds()
    {
        var e = Assert.Throws<ArgumentException>(() => MpiLibraryProbe.Detect("true"));
        Assert.Contains("/true", e.Message, StringComparison.Ordinal);
        Assert.Contains("libc.so.6", e.Message, StringComparison.Ordinal);
        Assert.Contains("choose Pmi.Simple or Pmi.Pmix", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detect_ScriptMissingAndTruncatedFiles_ClearErrors()
    {
        var script = Path.Combine(_dir, "run.sh");
        File.WriteAllText(script, "#!/bin/sh\nexec mpitest hello\n");
        Assert.Contains("not a 64-bit little-endian ELF", Assert.Throws<ArgumentException>(() => MpiLibraryProbe.Detect(script)).Message, StringComparison.Ordinal);

        var missing = Path.Combine(_dir, "missing");
        Assert.Contains($"cannot read {missing}: no such file", Assert.Throws<ArgumentException>(() => MpiLibraryProbe.Detect(missing)).Message, StringComparison.Ordinal);
        Assert.Contains("cannot find no-such-program-here on PATH", Assert.Throws<ArgumentException>(() => MpiLibraryProbe.Detect("no-such-program-here")).Message, StringComparison.Ordinal);

        var truncated = Path.Combine(_dir, "truncated");
        File.WriteAllBytes(truncated, File.ReadAllBytes(Repo.MpiProgram("mpitest-openmpi"))[..200]);
        Assert.Contains("truncated or malformed", Assert.Throws<ArgumentException>(() => MpiLibraryProbe.Detect(truncated)).Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
