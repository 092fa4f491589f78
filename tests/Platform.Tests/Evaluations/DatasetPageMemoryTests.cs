using Platform.Evaluations;

namespace Platform.Tests.Evaluations;

/// <summary>Dataset pages on the test cluster leave memory once written and checked, and still answer from storage.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DatasetPageMemoryTests(ClusterFixture fixture)
{
    private const string PageGrain = "Platform.Evaluations.DatasetPageGrain";

    [Fact]
    public async Task AWrittenPage_LeavesMemory_AfterItsWriteAndItsCount_AndStillReadsBack()
    {
        var page = fixture.Grains.GetGrain<IDatasetPageGrain>($"t{Guid.NewGuid():N}/ds/1/0");
        var before = await GrainActivations.CountAsync(fixture.Grains, PageGrain);
        var items = Enumerable.Range(0, 20).Select(i => new DatasetItem($"i{i}", null, [new DatasetMessage("user", $"q{i}")], "a", null, [], null)).ToList();

        await page.WriteAsync(items);
        Assert.Equal(before, await GrainActivations.PollAsync(fixture.Grains, PageGrain, before)); // left memory after its write

        Assert.Equal(20, await page.CountAsync());
        Assert.Equal(before, await GrainActivations.PollAsync(fixture.Grains, PageGrain, before)); // and after its count

        Assert.Equal(items.Select(i => i.Id), (await page.ReadAsync()).Select(i => i.Id));
    }
}
