using System.Collections.Concurrent;

namespace Platform.Silo.Auth;

/// <summary>
/// A silo-local cache whose entries are refreshed in the background once they are older than
/// <c>refreshAfter</c> and never served once older than <c>expireAfter</c>. That bound is what
/// makes a change (a revoked key, a disabled tenant) visible on every silo within <c>expireAfter</c>
/// without a storage read per request. Values that <c>keep</c> refuses (an unknown key) are returned but
/// never stored, so they can neither fill the cache nor push out the values it holds.
/// </summary>
public sealed class RefreshingCache<TKey, TValue>(
    TimeProvider time, TimeSpan refreshAfter, TimeSpan expireAfter, int capacity, Func<TValue, bool>? keep = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private int _generation;

    public int Count => _entries.Count;

    public ValueTask<TValue> GetAsync(TKey key, Func<TKey, Task<TValue>> fetch)
    {
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(key, out var entry))
        {
            var age = time.GetElapsedTime(entry.FetchedAt, now);
            if (age < expireAfter)
            {
                if (age >= refreshAfter && Interlocked.Exchange(ref entry.Refreshing, 1) == 0)
                {
                    _ = RefreshAsync(key, fetch);
                }

                return new ValueTask<TValue>(entry.Value);
            }
        }

        return new ValueTask<TValue>(FetchAsync(key, fetch));
    }

    public void Invalidate(TKey key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
    }

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    private async Task<TValue> FetchAsync(TKey key, Func<TKey, Task<TValue>> fetch)
    {
        var startedAt = time.GetTimestamp();
        var generation = Volatile.Read(ref _generation);
        var value = await fetch(key).ConfigureAwait(false);
        if (generation != Volatile.Read(ref _generation))
        {
            // Invalidated while fetching: the value may predate the change, so it is used once but not kept.
            return value;
        }

        if (keep is not null && !keep(value))
        {
            _entries.TryRemove(key, out _);
            return value;
        }

        if (_entries.Count >= capacity && !_entries.ContainsKey(key))
        {
            // Bounded: dropping everything is rare and safe (the next requests fetch again).
            _entries.Clear();
        }

        _entries[key] = new Entry(value, startedAt);
        return value;
    }

    private async Task RefreshAsync(TKey key, Func<TKey, Task<TValue>> fetch)
    {
        try
        {
            await FetchAsync(key, fetch).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The entry expires by itself; the next request fetches synchronously and sees the error.
        }
    }

    private sealed class Entry(TValue value, long fetchedAt)
    {
        public readonly TValue Value = value;
        public readonly long FetchedAt = fetchedAt;
        public int Refreshing;
    }
}
