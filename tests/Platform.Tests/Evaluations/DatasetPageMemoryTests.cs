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
        var before = await ActivationsAsync();
        var items = Enumerable.Range(0, 20).Select(i => new DatasetItem($"i{i}", null, [new DatasetMessage("user", $"q{i}")], "a", null, [], null)).ToList();

        await page.WriteAsync(items);
        Assert.True(await PollAsync(async () => await ActivationsAsync() == before), "the page stayed in memory after its write");

        Assert.Equal(20, await page.CountAsync());
        Assert.True(await PollAsync(async () => await ActivationsAsync() == before), "the page stayed in memory after its count");

        Assert.Equal(items.Select(i => i.Id), (await page.ReadAsync()).Select(i => i.Id));
    }

    private async Task<int> ActivationsAsync()
    {
        var statistics = await fixture.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.StartsWith(PageGrain + ",", StringComparison.Ordinal) || s.GrainType == PageGrain)
            .Sum(s => s.ActivationCount);
    }

    /// <summary>Polls until the condition holds or 20 seconds pass (no fixed sleep).</summary>
    private static async Task<bool> PollAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
