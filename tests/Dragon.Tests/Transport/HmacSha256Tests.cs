using System.Security.Cryptography;
using System.Text;
using Dragon.Services.Transport;
using Xunit;

namespace Dragon.Tests.Transport;

/// <summary>The links' own HMAC-SHA256 against the standard's answers and .NET's (OpenSSL's) implementation.</summary>
public sealed class HmacSha256Tests
{
    [Fact]
    public void HashData_Rfc4231Cases_GiveTheirPublishedValues()
    {
        // RFC 4231 test cases 2 (a short key) and 6 (a key longer than a block).
        Assert.Equal(
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            Convert.ToHexStringLower(HmacSha256.HashData("Jefe"u8, "what do ya want for nothing?"u8)));
        Assert.Equal(
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            Convert.ToHexStringLower(HmacSha256.HashData(Enumerable.Repeat((byte)0xaa, 131).ToArray(), "Test Using Larger Than Block-Size Key - Hash Key First"u8)));
    }

    [Fact]
    public void HashAndHashData_EveryLengthAroundTheBlockEdges_EqualTheSystemImplementation()
    {
        var random = new Random(20261202);
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var key = new byte[random.Next(0, 200)];
            random.NextBytes(key);
            var hash = new byte[HmacSha256.HashBytes];
            HmacSha256.Hash(data, hash);
            Assert.Equal(SHA256.HashData(data), hash);
            Assert.Equal(HMACSHA256.HashData(key, data), HmacSha256.HashData(key, data));
        }

        var large = Encoding.UTF8.GetBytes(new string('x', 1 << 20));
        Assert.Equal(HMACSHA256.HashData(large[..77], large), HmacSha256.HashData(large[..77], large));
    }
}
