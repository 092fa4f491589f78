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

    /// <summary>Longest secret accepted from configuration (bootstrap keys).</summary>
    public const int MaximumConfiguredLength = 256;

    /// <summary>Length of a generated secret: the prefix and 32 bytes in unpadded base64url (43 characters).</summary>
    public const int GeneratedLength = 50;

    /// <summary>What a well-formed secret looks like, in words for error messages.</summary>
    public const string FormatDescription =
        "a generated key (sk-plt- and 43 base64url characters) or a configured key of 32-256 visible ASCII characters without spaces";

    public static string Generate()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Prefix + Convert.ToBase64String(random).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// True when <paramref name="secret"/> could be a key: a generated one (<see cref="Prefix"/> and exactly 43
    /// canonical base64url characters) or a configured one (32-256 visible ASCII characters, not starting with
    /// the prefix). Anything else is refused before it is hashed or looked up.
    /// </summary>
    public static bool IsWellFormed(ReadOnlySpan<char> secret)
    {
        if (secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return secret.Length == GeneratedLength && IsCanonicalBase64Url(secret[Prefix.Length..]);
        }

        if (secret.Length is < MinimumConfiguredLength or > MaximumConfiguredLength)
        {
            return false;
        }

        foreach (var c in secret)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>43 base64url characters that decode to exactly 32 bytes (the two spare bits of the last one are zero).</summary>
    private static bool IsCanonicalBase64Url(ReadOnlySpan<char> body)
    {
        var last = 0;
        foreach (var c in body)
        {
            last = c switch
            {
                >= 'A' and <= 'Z' => c - 'A',
                >= 'a' and <= 'z' => c - 'a' + 26,
                >= '0' and <= '9' => c - '0' + 52,
                '-' => 62,
                '_' => 63,
                _ => -1,
            };
            if (last < 0)
            {
                return false;
            }
        }

        return (last & 0b11) == 0;
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

    /// <summary>The key directory shard that holds a key: the first byte of its hash, two hex digits (256 shards).</summary>
    public static string ShardOf(string hash) => hash[..2];

    /// <summary>The public id of a key, derived from its hash: safe to show and log.</summary>
    public static string IdFromHash(string hash) => "key_" + hash[..16];

    /// <summary>The first characters of a secret, shown in listings so people recognise their keys.</summary>
    public static string DisplayPrefix(string secret) => secret.Length <= 12 ? "…" : secret[..12] + "…";
}
