namespace Platform.Segments;

/// <summary>
/// One sealed, full segment of a long list (an audit log, a deployment's history, a prompt's label moves): the
/// owning grain keeps only the newest items in its own state and moves each full block here, so a change rewrites
/// a record of bounded size however long the list grows. Key: <c>{list key}/{segment index}</c>.
/// </summary>
[Alias("Platform.Segments.ISegmentGrain`1")]
public interface ISegmentGrain<T> : IGrainWithStringKey
{
    /// <summary>Stores the segment's items (writing the same items again is harmless).</summary>
    [Alias("WriteAsync")]
    Task WriteAsync(IReadOnlyList<T> items);

    [Alias("GetAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<T>> GetAsync();
}
