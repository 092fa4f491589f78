namespace Platform.Segments;

/// <summary>
/// A list stored as sealed segments of <see cref="SegmentSize"/> items (segment grains <c>{key}/0</c>, <c>{key}/1</c>...)
/// followed by a head of at most <see cref="SegmentSize"/> items kept in the owner's state. Item number <c>n</c>
/// (0-based) lives in segment <c>n / SegmentSize</c>, or in the head once every full segment before it is sealed.
/// The owner writes its head and its sealed count in its own state; this class only moves blocks and reads pages.
/// </summary>
public static class SegmentedList
{
    public const int SegmentSize = 64;

    /// <summary>Item count of a list with <paramref name="sealedSegments"/> sealed segments and this head.</summary>
    public static long Count<T>(int sealedSegments, IReadOnlyCollection<T> head) => ((long)sealedSegments * SegmentSize) + head.Count;

    /// <summary>
    /// When the head is full, stores it as the next segment and returns true: the caller then clears its head and
    /// counts one more sealed segment before writing its own state (if that write fails, sealing again writes the same
    /// items to the same segment, so nothing is lost or doubled).
    /// </summary>
    public static async Task<bool> SealIfFullAsync<T>(IGrainFactory grains, string key, int sealedSegments, IReadOnlyList<T> head)
    {
        if (head.Count < SegmentSize)
        {
            return false;
        }

        await Segment<T>(grains, key, sealedSegments).WriteAsync([.. head.Take(SegmentSize)]);
        return true;
    }

    /// <summary>
    /// Moves the full segments of a list that was stored whole (before segments existed) out of <paramref name="head"/>,
    /// leaving at most <see cref="SegmentSize"/> items; returns how many segments were sealed (the caller adds them to
    /// its count and writes its state).
    /// </summary>
    public static async Task<int> MigrateAsync<T>(IGrainFactory grains, string key, int sealedSegments, List<T> head)
    {
        if (head.Count <= SegmentSize)
        {
            return 0;
        }

        var seal = (head.Count - 1) / SegmentSize;
        for (var s = 0; s < seal; s++)
        {
            await Segment<T>(grains, key, sealedSegments + s).WriteAsync(head.GetRange(s * SegmentSize, SegmentSize));
        }

        head.RemoveRange(0, seal * SegmentSize);
        return seal;
    }

    /// <summary>Items <paramref name="after"/> .. <paramref name="after"/> + <paramref name="limit"/> - 1 (0-based), and the cursor of the next page.</summary>
    public static async Task<(IReadOnlyList<T> Items, long? NextAfter)> PageAsync<T>(
        IGrainFactory grains, string key, int sealedSegments, IReadOnlyList<T> head, long after, int limit)
    {
        var total = Count(sealedSegments, head);
        var items = new List<T>(limit);
        var position = Math.Max(0, after);
        while (items.Count < limit && position < total)
        {
            var segment = (int)(position / SegmentSize);
            var block = segment < sealedSegments ? await Segment<T>(grains, key, segment).GetAsync() : head;
            var start = (int)(position - ((long)segment * SegmentSize));
            var take = Math.Min(limit - items.Count, block.Count - start);
            if (take <= 0)
            {
                break;
            }

            items.AddRange(block.Skip(start).Take(take));
            position += take;
        }

        return (items, position < total ? position : null);
    }

    /// <summary>Reads one block: a sealed segment, or the head when <paramref name="segment"/> equals the sealed count.</summary>
    public static async Task<IReadOnlyList<T>> BlockAsync<T>(IGrainFactory grains, string key, int sealedSegments, IReadOnlyList<T> head, int segment) =>
        segment < sealedSegments ? await Segment<T>(grains, key, segment).GetAsync() : head;

    public static ISegmentGrain<T> Segment<T>(IGrainFactory grains, string key, int index) =>
        grains.GetGrain<ISegmentGrain<T>>($"{key}/{index}");
}
