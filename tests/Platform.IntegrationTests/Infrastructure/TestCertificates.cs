using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>A self-signed silo certificate written as a password-protected PKCS#12 file and as PEM certificate and key.</summary>
public sealed record TestCertificates(string Pfx, string PfxPassword, string CertificatePem, string KeyPem, byte[] Sha256)
{
    public static TestCertificates Write(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=platform-silo", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certificates = new TestCertificates(
            Path.Combine(directory, "silo.pfx"), "test-pfx-password", Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"),
            certificate.GetCertHash(HashAlgorithmName.SHA256));
        File.WriteAllBytes(certificates.Pfx, certificate.Export(X509ContentType.Pkcs12, certificates.PfxPassword));
        File.WriteAllText(certificates.CertificatePem, certificate.ExportCertificatePem());
        File.WriteAllText(certificates.KeyPem, key.ExportPkcs8PrivateKeyPem());
        return certificates;
    }
}
