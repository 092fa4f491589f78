using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Evaluations.Datasets;

/// <summary>
/// How a version's items are cut into stored pages: in order, a new page when the current one holds
/// <see cref="DatasetLimits.PageItems"/> items or the next item would take it past <see cref="DatasetLimits.PageBytes"/>.
/// </summary>
public static class DatasetPaging
{
    /// <summary>Bytes the storage serializer spends around each string (field header, length) and each item or message, rounded up.</summary>
    private const int StringOverhead = 8;
    private const int ObjectOverhead = 32;

    public static IReadOnlyList<IReadOnlyList<DatasetItem>> Split(IReadOnlyList<DatasetItem> items)
    {
        var pages = new List<IReadOnlyList<DatasetItem>>();
        var page = new List<DatasetItem>();
        var bytes = 0L;
        foreach (var item in items)
        {
            var size = EstimateBytes(item);
            if (page.Count > 0 && (page.Count == DatasetLimits.PageItems || bytes + size > DatasetLimits.PageBytes))
            {
                pages.Add(page);
                (page, bytes) = ([], 0);
            }

            page.Add(item);
            bytes += size;
        }

        if (page.Count > 0)
        {
            pages.Add(page);
        }

        return pages;
    }

    /// <summary>An upper estimate of the bytes one item takes in stored grain state (strings are stored as UTF-8).</summary>
    public static long EstimateBytes(DatasetItem item) =>
        EstimateBytes(item.Id, item.Input, item.Messages, item.Expected, item.Context, item.Tags, item.Split);

    public static long EstimateBytes(
        string? id,
        IReadOnlyDictionary<string, string>? input,
        IReadOnlyList<DatasetMessage>? messages,
        string? expected,
        string? context,
        IReadOnlyList<string>? tags,
        string? split)
    {
        var bytes = ObjectOverhead + Text(id) + Text(expected) + Text(context) + Text(split);
        foreach (var (name, value) in input ?? new Dictionary<string, string>())
        {
            bytes += Text(name) + Text(value);
        }

        foreach (var message in messages ?? [])
        {
            bytes += ObjectOverhead + Text(message.Role) + Text(message.Content);
        }

        foreach (var tag in tags ?? [])
        {
            bytes += Text(tag);
        }

        return bytes;
    }

    private static long Text(string? value) => value is null ? 1 : StringOverhead + Encoding.UTF8.GetByteCount(value);

    /// <summary><c>sha256:</c> of the items' JSON Lines export: equal for equal items in equal order.</summary>
    public static string ContentHash(IEnumerable<DatasetItem> items)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var item in items)
        {
            DatasetJsonLines.Write(buffer, item);
            hash.AppendData(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Whether two item lists hold the same items in the same order, field by field.</summary>
    public static bool SameItems(IReadOnlyList<DatasetItem> a, IReadOnlyList<DatasetItem> b) =>
        a.Count == b.Count && a.Zip(b).All(pair => SameItem(pair.First, pair.Second));

    public static bool SameItem(DatasetItem a, DatasetItem b) =>
        a.Id == b.Id && a.Expected == b.Expected && a.Context == b.Context && a.Split == b.Split
        && a.Tags.SequenceEqual(b.Tags)
        && (a.Messages is null ? b.Messages is null : b.Messages is not null && a.Messages.SequenceEqual(b.Messages))
        && (a.Input is null ? b.Input is null : b.Input is not null && a.Input.Count == b.Input.Count
            && a.Input.All(kv => b.Input.TryGetValue(kv.Key, out var v) && v == kv.Value));
}
