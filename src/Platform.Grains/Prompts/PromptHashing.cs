using System.Security.Cryptography;
using System.Text.Json;

namespace Platform.Prompts;

public static class PromptHashing
{
    private static readonly JsonSerializerOptions Canonical = new() { WriteIndented = false };

    /// <summary>SHA-256 of the content's canonical JSON: identical content, identical hash.</summary>
    public static string Hash(PromptContent content) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(content, Canonical)));
}
