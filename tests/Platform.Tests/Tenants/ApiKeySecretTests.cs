using Platform.Tenants;

namespace Platform.Tests.Tenants;

public sealed class ApiKeySecretTests
{
    [Fact]
    public void Generate_HasPrefixAndAtLeast256BitsOfRandomness()
    {
        var secret = ApiKeySecret.Generate();

        Assert.StartsWith(ApiKeySecret.Prefix, secret, StringComparison.Ordinal);
        var body = secret[ApiKeySecret.Prefix.Length..];
        Assert.True(body.Length * 6 >= 256, $"{body.Length} base64url characters carry fewer than 256 bits");
        Assert.Matches("^[A-Za-z0-9_-]+$", body);
    }

    [Fact]
    public void Generate_TwoCalls_GiveDifferentSecrets()
    {
        var secrets = Enumerable.Range(0, 1000).Select(_ => ApiKeySecret.Generate()).ToHashSet();
        Assert.Equal(1000, secrets.Count);
    }

    [Fact]
    public void Hash_IsLowercaseHexSha256AndStable()
    {
        // SHA-256("abc") from FIPS 180-2.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeySecret.Hash("abc"));
        Assert.Equal(ApiKeySecret.Hash("sk-plt-x"), ApiKeySecret.Hash("sk-plt-x"));
    }

    [Fact]
    public void Hash_OfLongSecret_DoesNotThrow()
    {
        var hash = ApiKeySecret.Hash(new string('k', 10_000));
        Assert.Equal(64, hash.Length);
    }

    [Fact]
    public void IdAndPrefix_RevealNoMoreThanAFewCharacters()
    {
        var secret = ApiKeySecret.Generate();
        var id = ApiKeySecret.IdFromHash(ApiKeySecret.Hash(secret));

        Assert.Matches("^key_[0-9a-f]{16}$", id);
        Assert.Equal(secret[..12] + "…", ApiKeySecret.DisplayPrefix(secret));
    }
}
