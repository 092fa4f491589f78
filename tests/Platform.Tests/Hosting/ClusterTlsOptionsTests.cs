using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Platform.Silo.Hosting;

namespace Platform.Tests.Hosting;

/// <summary>Platform:Cluster:Tls is checked on start; each failure names the setting to fix.</summary>
public sealed class ClusterTlsOptionsTests : IDisposable
{
    private const string Azurite =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        + "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    private readonly string _dir = Directory.CreateTempSubdirectory("platform-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Pfx, string CertPem, string KeyPem) WriteCertificate(DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=platform-silo", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(notAfter.AddYears(-1), notAfter);
        var pfx = Path.Combine(_dir, "silo.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "s3cret"));
        var certPem = Path.Combine(_dir, "tls.crt");
        var keyPem = Path.Combine(_dir, "tls.key");
        File.WriteAllText(certPem, certificate.ExportCertificatePem());
        File.WriteAllText(keyPem, key.ExportPkcs8PrivateKeyPem());
        return (pfx, certPem, keyPem);
    }

    private string Settings(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Platform:DataDirectory", _dir), .. settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))])
            .Build();
        try
        {
            PlatformHostingExtensions.ReadValidatedOptions(configuration);
            return "";
        }
        catch (PlatformConfigurationException ex)
        {
            return ex.Message;
        }
    }

    [Fact]
    public void PfxWithItsPassword_AndPemWithItsKey_AreAccepted()
    {
        var (pfx, certPem, keyPem) = WriteCertificate(DateTimeOffset.UtcNow.AddYears(1));

        Assert.Equal("", Settings(("Platform:Cluster:Tls:CertificatePath", pfx), ("Platform:Cluster:Tls:CertificatePassword", "s3cret")));
        Assert.Equal("", Settings(("Platform:Cluster:Tls:CertificatePath", certPem), ("Platform:Cluster:Tls:PrivateKeyPath", keyPem)));
    }

    [Fact]
    public void MissingFile_WrongPassword_MissingKeyAndExpiry_EachNameTheSetting()
    {
        var (pfx, certPem, _) = WriteCertificate(DateTimeOffset.UtcNow.AddYears(1));

        Assert.Contains("Platform:Cluster:Tls:CertificatePath", Settings(("Platform:Cluster:Tls:CertificatePath", Path.Combine(_dir, "none.pfx"))), StringComparison.Ordinal);
        Assert.Contains("Platform:Cluster:Tls:CertificatePassword",
            Settings(("Platform:Cluster:Tls:CertificatePath", pfx), ("Platform:Cluster:Tls:CertificatePassword", "wrong")), StringComparison.Ordinal);
        Assert.Contains("for a PEM certificate, set Platform:Cluster:Tls:PrivateKeyPath", Settings(("Platform:Cluster:Tls:CertificatePath", certPem)), StringComparison.Ordinal);
        Assert.Contains("Platform:Cluster:Tls:PrivateKeyPath",
            Settings(("Platform:Cluster:Tls:CertificatePath", certPem), ("Platform:Cluster:Tls:PrivateKeyPath", Path.Combine(_dir, "none.key"))), StringComparison.Ordinal);
        Assert.Contains("Platform:Cluster:Tls:CertificatePath", Settings(("Platform:Cluster:Tls:PrivateKeyPath", "tls.key")), StringComparison.Ordinal);

        var (expired, _, _) = WriteCertificate(DateTimeOffset.UtcNow.AddDays(-1));
        Assert.Contains("expired", Settings(("Platform:Cluster:Tls:CertificatePath", expired), ("Platform:Cluster:Tls:CertificatePassword", "s3cret")), StringComparison.Ordinal);
    }

    [Fact]
    public void KubernetesProfile_RequiresTheCertificate_AzureDoesNot()
    {
        Assert.Contains("Platform:Cluster:Tls:CertificatePath is required on the kubernetes profile",
            Settings(("Platform:Profile", "kubernetes"), ("Platform:Azure:ConnectionString", Azurite)), StringComparison.Ordinal);
        Assert.Equal("", Settings(("Platform:Profile", "azure"), ("Platform:Azure:ConnectionString", Azurite)));
    }

    [Fact]
    public void GatewayPort_IsOffByDefault()
    {
        Assert.Null(new PlatformOptions().Cluster.GatewayPort);
        Assert.Contains("Platform:Cluster:GatewayPort", Settings(("Platform:Cluster:GatewayPort", "0")), StringComparison.Ordinal);
    }
}
