using Platform.Tenants;

namespace Platform.Tests.Auth;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void Generated_IsWellFormed()
    {
        for (var i = 0; i < 1000; i++)
        {
            var secret = ApiKeySecret.Generate();
            Assert.Equal(ApiKeySecret.GeneratedLength, secret.Length);
            Assert.True(ApiKeySecret.IsWellFormed(secret), secret);
        }
    }

    [Theory]
    [InlineData("test-admin-key-0123456789abcdef0123456789")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("bench-client-key-0123456789abcdef0123456789")]
    [InlineData("p@ss:word!~with{symbols}and[brackets]0123")]
    public void Configured_OfVisibleAscii_IsWellFormed(string secret) => Assert.True(ApiKeySecret.IsWellFormed(secret));

    [Fact]
    public void Configured_OfMaximumLength_IsWellFormed_OneMoreIsNot()
    {
        Assert.True(ApiKeySecret.IsWellFormed(new string('k', ApiKeySecret.MaximumConfiguredLength)));
        Assert.False(ApiKeySecret.IsWellFormed(new string('k', ApiKeySecret.MaximumConfiguredLength + 1)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("0123456789abcdef0123456789abcde")] // 31 characters
    [InlineData("0123456789abcdef 0123456789abcdef")] // a space
    [InlineData("0123456789abcdef\t0123456789abcdef")]
    [InlineData("0123456789abcdéf0123456789abcdef0")] // not ASCII
    [InlineData("sk-plt-")]
    [InlineData("sk-plt-this-key-does-not-exist-0000000000000")] // prefix, wrong length
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 42 characters
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] // 44 characters
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAA+AAAAAAAAAAAAAAAAAAAAA")] // '+' is base64, not base64url
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")] // last character has spare bits set
    [InlineData("sk-plt-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // padding
    public void Malformed_IsRefused(string secret) => Assert.False(ApiKeySecret.IsWellFormed(secret));

    [Fact]
    public void Generated_WithOneCharacterChanged_IsStillWellFormed_SoTheFormatIsNoOracle()
    {
        var secret = ApiKeySecret.Generate();
        var changed = secret[..10] + (secret[10] == 'A' ? 'B' : 'A') + secret[11..];

        Assert.True(ApiKeySecret.IsWellFormed(changed));
    }
}
