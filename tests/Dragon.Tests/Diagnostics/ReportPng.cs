using System.Buffers.Binary;
using System.IO.Compression;

namespace Dragon.Tests.Diagnostics;

/// <summary>
/// Just enough of PNG to look at a browser's screenshot: 8-bit RGB or RGBA, not interlaced (what Chromium writes).
/// The screenshot test reads pixels to tell a drawn report from a blank or uniform page.
/// </summary>
internal sealed class ReportPng
{
    private readonly byte[] _pixels;
    private readonly int _channels;

    private ReportPng(int width, int height, int channels, byte[] pixels)
    {
        Width = width;
        Height = height;
        _channels = channels;
        _pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            var at = ((y * Width) + x) * _channels;
            return (_pixels[at], _pixels[at + 1], _pixels[at + 2]);
        }
    }

    public static ReportPng Read(string path)
    {
        var file = File.ReadAllBytes(path);
        if (!file.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }))
        {
            throw new InvalidDataException($"{path} is not a PNG file");
        }

        int width = 0, height = 0, channels = 0;
        using var compressed = new MemoryStream();
        for (var at = 8; at + 8 <= file.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                channels = (data[8], data[9], data[12]) switch
                {
                    (8, 2, 0) => 3,
                    (8, 6, 0) => 4,
                    var other => throw new InvalidDataException($"{path}: PNG bit depth, colour type, interlace {other} not supported here"),
                };
            }
            else if (type == "IDAT")
            {
                compressed.Write(data);
            }

            at += length + 12;
        }

        compressed.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        return new ReportPng(width, height, channels, Unfilter(inflated.ToArray(), width, height, channels));
    }

    /// <summary>Undoes the per-row filters (none, sub, up, average, Paeth).</summary>
    private static byte[] Unfilter(byte[] raw, int width, int height, int bpp)
    {
        var stride = width * bpp;
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            var source = raw.AsSpan((y * (stride + 1)) + 1, stride);
            var row = pixels.AsSpan(y * stride, stride);
            var up = y > 0 ? pixels.AsSpan((y - 1) * stride, stride) : new byte[stride];
            for (var i = 0; i < stride; i++)
            {
                int a = i >= bpp ? row[i - bpp] : 0, b = up[i], c = i >= bpp ? up[i - bpp] : 0;
                row[i] = (byte)(source[i] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG row filter {filter}"),
                });
            }
        }

        return pixels;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
