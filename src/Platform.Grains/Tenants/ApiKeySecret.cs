using System.Security.Cryptography;
using System.Text;

namespace Platform.Tenants;

/// <summary>
/// API key secrets: <c>sk-plt-</c> followed by 256 random bits in base64url. Only the SHA-256
/// of a secret is stored; a secret of 256 random bits needs no slow hash to resist guessing.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "sk-plt-";

    /// <summary>Shortest secret accepted from configuration (bootstrap keys).</summary>
    public const int MinimumConfiguredLength = 32;

    public static string Generate()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Prefix + Convert.ToBase64String(random).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Lowercase hex SHA-256 of the secret: the key's storage identity.</summary>
    public static string Hash(string secret)
    {
        Span<byte> hash = stackalloc byte[32];
        var maxBytes = Encoding.UTF8.GetMaxByteCount(secret.Length);
        var buffer = maxBytes <= 512 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        var written = Encoding.UTF8.GetBytes(secret, buffer);
        SHA256.HashData(buffer[..written], hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>The public id of a key, derived from its hash: safe to show and log.</summary>
    public static string IdFromHash(string hash) => "key_" + hash[..16];

    /// <summary>The first characters of a secret, shown in listings so people recognise their keys.</summary>
    public static string DisplayPrefix(string secret) => secret.Length <= 12 ? "…" : secret[..12] + "…";
}
