namespace Platform;

/// <summary>
/// FNV-1a over UTF-16 code units: a hash that is the same in every process (unlike <see cref="HashCode"/>),
/// for decisions that must agree across silos and restarts (sticky canary buckets, simulated outcomes).
/// </summary>
public static class Fnv1a
{
    public const uint Offset = 2166136261u;
    private const uint Prime = 16777619u;

    public static uint Append(uint hash, char c) => (hash ^ c) * Prime;

    public static uint Append(uint hash, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * Prime;
        }

        return hash;
    }
}
