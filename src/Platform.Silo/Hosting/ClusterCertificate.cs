using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Silo.Hosting;

/// <summary>Loads the silo certificate of <see cref="ClusterTlsOptions"/>; failures are messages naming the setting to fix.</summary>
public static class ClusterCertificate
{
    /// <summary>Loads the certificate, or returns null with the reason in <paramref name="failures"/>.</summary>
    public static X509Certificate2? TryLoad(ClusterTlsOptions tls, TimeProvider time, List<string> failures)
    {
        const string Path = "Platform:Cluster:Tls:CertificatePath";
        const string Key = "Platform:Cluster:Tls:PrivateKeyPath";
        const string Password = "Platform:Cluster:Tls:CertificatePassword";
        if (!tls.Enabled)
        {
            if (!string.IsNullOrWhiteSpace(tls.PrivateKeyPath) || !string.IsNullOrEmpty(tls.CertificatePassword))
            {
                failures.Add($"{Key} and {Password} need {Path} (the certificate).");
            }

            return null;
        }

        var path = tls.CertificatePath!;
        if (!File.Exists(path))
        {
            failures.Add($"{Path} '{path}' does not exist.");
            return null;
        }

        var pem = !string.IsNullOrWhiteSpace(tls.PrivateKeyPath);
        if (pem && !File.Exists(tls.PrivateKeyPath))
        {
            failures.Add($"{Key} '{tls.PrivateKeyPath}' does not exist.");
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = pem
                ? X509Certificate2.CreateFromPemFile(path, tls.PrivateKeyPath)
                : X509CertificateLoader.LoadPkcs12FromFile(path, tls.CertificatePassword, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException)
        {
            failures.Add(pem
                ? $"{Path} '{path}' and {Key} '{tls.PrivateKeyPath}' are not a PEM certificate and its private key."
                : $"{Path} '{path}' is not a PKCS#12 (.pfx) file that {Password} opens (for a PEM certificate, set {Key} too).");
            return null;
        }

        if (!certificate.HasPrivateKey)
        {
            failures.Add($"{Path} '{path}' holds no private key; a silo must prove it owns the certificate.");
        }
        else if (certificate.NotAfter.ToUniversalTime() <= time.GetUtcNow().UtcDateTime)
        {
            failures.Add($"{Path} '{path}' expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}.");
        }
        else
        {
            return certificate;
        }

        certificate.Dispose();
        return null;
    }
}
