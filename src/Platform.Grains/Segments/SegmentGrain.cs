using Platform.Hosting;

namespace Platform.Segments;

[GenerateSerializer]
[Alias("Platform.Segments.SegmentState`1")]
public sealed class SegmentState<T>
{
    [Id(0)]
    public List<T> Items { get; set; } = [];
}

public sealed class SegmentGrain<T>(
    [PersistentState("segment", PlatformStorage.Default)] IPersistentState<SegmentState<T>> state) : Grain, ISegmentGrain<T>
{
    public async Task WriteAsync(IReadOnlyList<T> items)
    {
        var previous = state.State.Items;
        state.State.Items = [.. items];
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Items = previous;
            throw;
        }
    }

    public Task<IReadOnlyList<T>> GetAsync() => Task.FromResult<IReadOnlyList<T>>(state.State.Items);
}
