using Orleans.Storage;

namespace Platform.Tests.Storage;

public sealed class SqliteGrainStorageTests(SqliteStorageFixture fixture) : IClassFixture<SqliteStorageFixture>
{
    private static GrainId NewGrain() => GrainId.Create("counter", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Read_OfMissingState_IsEmptyWithoutETag()
    {
        var state = new GrainState<Counter>();
        await fixture.NewStorage().ReadStateAsync("counter", NewGrain(), state);

        Assert.False(state.RecordExists);
        Assert.Null(state.ETag);
        Assert.Equal(0, state.State!.Value);
    }

    [Fact]
    public async Task Write_ThenReadThroughAnotherStorageInstance_ReturnsSameState()
    {
        var grain = NewGrain();
        var written = new GrainState<Counter>(new Counter { Value = 42, Note = "héllo" });
        await fixture.NewStorage().WriteStateAsync("counter", grain, written);

        var read = new GrainState<Counter>();
        await fixture.NewStorage().ReadStateAsync("counter", grain, read);

        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(42, read.State!.Value);
        Assert.Equal("héllo", read.State!.Note);
    }

    [Fact]
    public async Task TwoWritersFromSameVersion_OneWinsAndTheOtherGetsConcurrencyFailure()
    {
        var grain = NewGrain();
        var storage = fixture.NewStorage();
        await storage.WriteStateAsync("counter", grain, new GrainState<Counter>(new Counter { Value = 1 }));

        var first = new GrainState<Counter>();
        var second = new GrainState<Counter>();
        await storage.ReadStateAsync("counter", grain, first);
        await fixture.NewStorage().ReadStateAsync("counter", grain, second);

        first.State!.Value = 2;
        second.State!.Value = 3;
        var results = await Task.WhenAll(
            Capture(() => storage.WriteStateAsync("counter", grain, first)),
            Capture(() => fixture.NewStorage().WriteStateAsync("counter", grain, second)));

        Assert.Single(results, r => r is null);
        Assert.Single(results, r => r is InconsistentStateException);

        var final = new GrainState<Counter>();
        await storage.ReadStateAsync("counter", grain, final);
        var winner = results[0] is null ? 2 : 3;
        Assert.Equal(winner, final.State!.Value);
    }

    [Fact]
    public async Task TwoFirstWriters_OneWinsAndTheOtherGetsConcurrencyFailure()
    {
        var grain = NewGrain();
        var results = await Task.WhenAll(
            Capture(() => fixture.NewStorage().WriteStateAsync("counter", grain, new GrainState<Counter>(new Counter { Value = 1 }))),
            Capture(() => fixture.NewStorage().WriteStateAsync("counter", grain, new GrainState<Counter>(new Counter { Value = 2 }))));

        Assert.Single(results, r => r is null);
        Assert.Single(results, r => r is InconsistentStateException);
    }

    [Fact]
    public async Task Write_WithStaleETag_DoesNotOverwrite()
    {
        var grain = NewGrain();
        var storage = fixture.NewStorage();
        var state = new GrainState<Counter>(new Counter { Value = 1 });
        await storage.WriteStateAsync("counter", grain, state);
        var staleEtag = state.ETag;
        state.State!.Value = 2;
        await storage.WriteStateAsync("counter", grain, state);

        var stale = new GrainState<Counter>(new Counter { Value = 99 }) { ETag = staleEtag };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("counter", grain, stale));

        var read = new GrainState<Counter>();
        await storage.ReadStateAsync("counter", grain, read);
        Assert.Equal(2, read.State!.Value);
    }

    [Fact]
    public async Task Clear_RemovesStateAndAllowsAFreshWrite()
    {
        var grain = NewGrain();
        var storage = fixture.NewStorage();
        var state = new GrainState<Counter>(new Counter { Value = 5 });
        await storage.WriteStateAsync("counter", grain, state);

        await storage.ClearStateAsync("counter", grain, state);
        var read = new GrainState<Counter>();
        await storage.ReadStateAsync("counter", grain, read);
        Assert.False(read.RecordExists);

        await storage.WriteStateAsync("counter", grain, new GrainState<Counter>(new Counter { Value = 6 }));
        await storage.ReadStateAsync("counter", grain, read);
        Assert.Equal(6, read.State!.Value);
    }

    [Fact]
    public async Task StateNames_OfOneGrain_AreStoredApart()
    {
        var grain = NewGrain();
        var storage = fixture.NewStorage();
        await storage.WriteStateAsync("a", grain, new GrainState<Counter>(new Counter { Value = 1 }));
        await storage.WriteStateAsync("b", grain, new GrainState<Counter>(new Counter { Value = 2 }));

        var a = new GrainState<Counter>();
        await storage.ReadStateAsync("a", grain, a);
        Assert.Equal(1, a.State!.Value);
    }

    private static async Task<Exception?> Capture(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
