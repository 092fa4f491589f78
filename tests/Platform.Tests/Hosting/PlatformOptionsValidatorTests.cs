using Microsoft.Extensions.Configuration;
using Platform.Silo.Hosting;

namespace Platform.Tests.Hosting;

public sealed class PlatformOptionsValidatorTests
{
    private static PlatformConfigurationException Fails(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        return Assert.Throws<PlatformConfigurationException>(() => PlatformHostingExtensions.ReadValidatedOptions(configuration));
    }

    [Fact]
    public void Defaults_AreValidAndEmbedded()
    {
        var dir = Path.Combine(Path.GetTempPath(), "platform-opt-" + Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Platform:DataDirectory", dir)])
            .Build();

        var options = PlatformHostingExtensions.ReadValidatedOptions(configuration);

        Assert.Equal(PlatformProfiles.Embedded, options.Profile);
        Assert.False(options.UsesAzure);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void UnknownProfile_NamesTheSetting() =>
        Assert.Contains("Platform:Profile", Fails(("Platform:Profile", "cloud")).Message, StringComparison.Ordinal);

    [Fact]
    public void AzureWithoutConnectionString_NamesTheSetting() =>
        Assert.Contains("Platform:Azure:ConnectionString", Fails(("Platform:Profile", "azure")).Message, StringComparison.Ordinal);

    [Fact]
    public void AzureWithMalformedConnectionString_NamesTheSetting() =>
        Assert.Contains(
            "Platform:Azure:ConnectionString",
            Fails(("Platform:Profile", "azure"), ("Platform:Azure:ConnectionString", "not a connection string")).Message,
            StringComparison.Ordinal);

    [Fact]
    public void KubernetesOnEmbedded_IsRejected() =>
        Assert.Contains("Platform:Kubernetes:Enabled", Fails(("Platform:Kubernetes:Enabled", "true")).Message, StringComparison.Ordinal);

    [Fact]
    public void UnwritableDataDirectory_NamesTheSetting() =>
        Assert.Contains("Platform:DataDirectory", Fails(("Platform:DataDirectory", "/proc/platform-cannot-write-here")).Message, StringComparison.Ordinal);

    [Fact]
    public void NonNumericPort_NamesTheSetting() =>
        Assert.Contains("Platform:Cluster:SiloPort", Fails(("Platform:Cluster:SiloPort", "eleven")).Message, StringComparison.Ordinal);

    [Fact]
    public void PortOutOfRange_NamesTheSetting() =>
        Assert.Contains("Platform:Cluster:GatewayPort", Fails(("Platform:Cluster:GatewayPort", "70000")).Message, StringComparison.Ordinal);

    [Fact]
    public void ShortBootstrapKey_NamesTheSettingWithoutEchoingIt()
    {
        var message = Fails(("Platform:Bootstrap:AdminKey", "short-secret")).Message;

        Assert.Contains("Platform:Bootstrap:AdminKey", message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sk-plt-a-hand-made-key-that-is-not-generated-0123456789")]
    [InlineData("a configured key with spaces in it, long enough")]
    public void BootstrapKey_ThatAuthenticationWouldRefuseAsMalformed_NamesTheSetting(string key) =>
        Assert.Contains("Platform:Bootstrap:DemoClientKey", Fails(("Platform:Bootstrap:DemoClientKey", key)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("Platform:Authentication:FailureLimit", "-1")]
    [InlineData("Platform:Authentication:FailureWindowSeconds", "0")]
    [InlineData("Platform:Authentication:FailureWindowSeconds", "3601")]
    public void FailedAuthenticationLimit_OutOfRange_NamesTheSetting(string setting, string value) =>
        Assert.Contains(setting, Fails((setting, value)).Message, StringComparison.Ordinal);

    [Fact]
    public void FailedAuthenticationLimit_DefaultsTo20Per60Seconds()
    {
        var options = new PlatformOptions();

        Assert.Equal(20, options.Authentication.FailureLimit);
        Assert.Equal(60, options.Authentication.FailureWindowSeconds);
    }
}
