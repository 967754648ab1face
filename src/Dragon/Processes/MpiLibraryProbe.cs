using System.Buffers.Binary;
using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// Tells which process-management interface an MPI executable needs from the shared libraries its ELF file names
/// (DT_NEEDED): Open MPI's libmpi.so.40 (and its Fortran and runtime libraries) need PMIx; MPICH's libmpich.so and
/// the MPICH ABI's libmpi.so.12 speak PMI-1. Only direct dependencies are read: a program that reaches MPI through
/// another library cannot be told, and says so.
/// </summary>
internal static class MpiLibraryProbe
{
    private const uint ShtDynamic = 6;
    private const long DtNeeded = 1;

    /// <summary>The PMI mode <paramref name="executable"/> needs.</summary>
    /// <exception cref="ArgumentException">The file is missing, is not a 64-bit ELF executable, or names no MPI library.</exception>
    public static PmiMode Detect(string executable, string? cwd = null)
    {
        var path = Resolve(executable, cwd);
        var needed = ReadNeeded(path);
        return Classify(needed) ?? throw new ArgumentException(
            $"Pmi.Auto cannot tell which MPI library {path} uses: it links none of libmpi.so.40 (Open MPI, PMIx) or libmpich.so (MPICH, PMI-1) directly "
            + $"(it needs: {(needed.Count == 0 ? "no shared libraries" : string.Join(", ", needed))}); choose Pmi.Simple or Pmi.Pmix");
    }

    /// <summary>The PMI mode <paramref name="executable"/> needs, or null when it cannot be told (no MPI library, not ELF, missing).</summary>
    public static PmiMode? TryDetect(string executable, string? cwd = null)
    {
        try
        {
            return Detect(executable, cwd);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The PMI mode of these needed libraries, or null when none is an MPI library.</summary>
    public static PmiMode? Classify(IEnumerable<string> needed)
    {
        foreach (var library in needed)
        {
            if (library.StartsWith("libmpich", StringComparison.Ordinal) || library.StartsWith("libmpi.so.12", StringComparison.Ordinal))
            {
                return PmiMode.Simple;
            }
            if (library.StartsWith("libmpi.so.", StringComparison.Ordinal) || library.StartsWith("libmpi_", StringComparison.Ordinal)
                || library.StartsWith("libopen-rte.so", StringComparison.Ordinal) || library.StartsWith("libpmix.so", StringComparison.Ordinal))
            {
                return PmiMode.Pmix;
            }
        }
        return null;
    }

    /// <summary>The DT_NEEDED entries of a 64-bit little-endian ELF file, from its dynamic section.</summary>
    public static IReadOnlyList<string> ReadNeeded(string path)
    {
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Pmi.Auto cannot read {path}: {e.Message}", nameof(path), e);
        }

        ReadOnlySpan<byte> elf = file;
        if (elf.Length < 64 || !elf[..4].SequenceEqual("\u007FELF"u8) || elf[4] != 2 || elf[5] != 1)
        {
            throw new ArgumentException($"Pmi.Auto cannot tell which MPI library {path} uses: it is not a 64-bit little-endian ELF executable (a script?); choose Pmi.Simple or Pmi.Pmix", nameof(path));
        }

        try
        {
            var sectionOffset = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]));
            int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
            int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
            var needed = new List<string>();
            for (var i = 0; i < sectionCount; i++)
            {
                var header = elf.Slice(sectionOffset + (i * sectionSize), sectionSize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtDynamic)
                {
                    continue;
                }
                var dynamic = elf.Slice(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x18..])), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(header[0x20..])));
                var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
                var strings = elf.Slice(sectionOffset + (link * sectionSize), sectionSize);
                var stringTable = elf.Slice(checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x18..])), checked((int)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x20..])));
                for (var entry = 0; entry + 16 <= dynamic.Length; entry += 16)
                {
                    var tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic[entry..]);
                    if (tag == 0)
                    {
                        break;
                    }
                    if (tag == DtNeeded)
                    {
                        var name = stringTable[checked((int)BinaryPrimitives.ReadUInt64LittleEndian(dynamic[(entry + 8)..]))..];
                        var end = name.IndexOf((byte)0);
                        needed.Add(Encoding.UTF8.GetString(end < 0 ? name : name[..end]));
                    }
                }
            }
            return needed;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            throw new ArgumentException($"Pmi.Auto cannot read the dynamic section of {path}: the ELF file is truncated or malformed", nameof(path), e);
        }
    }

    /// <summary>The file a spawn of <paramref name="executable"/> would run: a path as given (against the working directory), a bare name through PATH.</summary>
    private static string Resolve(string executable, string? cwd)
    {
        if (executable.Contains('/', StringComparison.Ordinal))
        {
            var path = Path.IsPathRooted(executable) ? executable : Path.GetFullPath(executable, cwd ?? Environment.CurrentDirectory);
            return File.Exists(path) ? path : throw new ArgumentException($"Pmi.Auto cannot read {path}: no such file", nameof(executable));
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new ArgumentException($"Pmi.Auto cannot find {executable} on PATH", nameof(executable));
    }
}
