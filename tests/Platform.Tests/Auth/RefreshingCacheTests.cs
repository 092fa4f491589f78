using Platform.Silo.Auth;

namespace Platform.Tests.Auth;

public sealed class RefreshingCacheTests
{
    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private readonly ManualTime _time = new();
    private int _fetches;
    private string _source = "v1";

    private RefreshingCache<string, string> NewCache(int capacity = 100) =>
        new(_time, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(1), capacity);

    private Task<string> Fetch(string key)
    {
        Interlocked.Increment(ref _fetches);
        return Task.FromResult($"{key}:{_source}");
    }

    [Fact]
    public async Task Get_WhileFresh_DoesNotFetchAgain()
    {
        var cache = NewCache();
        await cache.GetAsync("a", Fetch);
        _time.Advance(TimeSpan.FromMilliseconds(300));

        Assert.Equal("a:v1", await cache.GetAsync("a", Fetch));
        Assert.Equal(1, _fetches);
    }

    [Fact]
    public async Task Get_AfterRefreshAge_ServesCachedAndRefreshesInBackground()
    {
        var cache = NewCache();
        await cache.GetAsync("a", Fetch);
        _source = "v2";
        _time.Advance(TimeSpan.FromMilliseconds(500));

        Assert.Equal("a:v1", await cache.GetAsync("a", Fetch));
        Assert.Equal(2, _fetches);
        Assert.Equal("a:v2", await cache.GetAsync("a", Fetch));
    }

    [Fact]
    public async Task Get_AfterExpiry_NeverServesTheOldValue()
    {
        var cache = NewCache();
        await cache.GetAsync("a", Fetch);
        _source = "revoked";
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("a:revoked", await cache.GetAsync("a", Fetch));
    }

    [Fact]
    public async Task Invalidate_ForcesNextGetToFetch()
    {
        var cache = NewCache();
        await cache.GetAsync("a", Fetch);
        _source = "v2";
        cache.Invalidate("a");

        Assert.Equal("a:v2", await cache.GetAsync("a", Fetch));
    }

    [Fact]
    public async Task Get_BeyondCapacity_StaysBounded()
    {
        var cache = NewCache(capacity: 10);
        for (var i = 0; i < 1000; i++)
        {
            await cache.GetAsync($"k{i}", Fetch);
        }

        Assert.True(cache.Count <= 10, $"cache holds {cache.Count} entries");
    }

    [Fact]
    public async Task Get_OfValuesNotKept_StoresNothing_AndNeverEvictsKeptValues()
    {
        var cache = new RefreshingCache<string, string>(_time, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(1), capacity: 10, keep: v => !v.StartsWith("unknown", StringComparison.Ordinal));
        for (var i = 0; i < 10; i++)
        {
            await cache.GetAsync($"k{i}", Fetch);
        }

        for (var i = 0; i < 1000; i++)
        {
            Assert.StartsWith("unknown", await cache.GetAsync($"unknown{i}", Fetch), StringComparison.Ordinal);
        }

        Assert.Equal(10, cache.Count);
        var fetches = _fetches;
        Assert.Equal("k3:v1", await cache.GetAsync("k3", Fetch));
        Assert.Equal(fetches, _fetches);
    }

    [Fact]
    public async Task Get_WhenAKeptValueBecomesNotKept_DropsIt()
    {
        var cache = new RefreshingCache<string, string>(_time, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(1), capacity: 10, keep: v => !v.EndsWith("gone", StringComparison.Ordinal));
        await cache.GetAsync("a", Fetch);
        _source = "gone";
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("a:gone", await cache.GetAsync("a", Fetch));
        Assert.Equal(0, cache.Count);
    }
}
