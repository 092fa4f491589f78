using Platform.Evaluations;

namespace Platform.Tests.Evaluations;

/// <summary>A run's result pages on the test cluster: a full page leaves memory, and its results are still there.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EvaluationResultPageGrainTests(ClusterFixture fixture)
{
    private const string PageGrain = "Platform.Evaluations.EvaluationResultPageGrain";

    [Fact]
    public async Task AFullPage_LeavesMemoryOnceStored_AndStillAnswersFromStorage()
    {
        var page = fixture.Grains.GetGrain<IEvaluationResultPageGrain>($"t{Guid.NewGuid():N}/run/0");
        var before = await GrainActivations.CountAsync(fixture.Grains, PageGrain);
        var size = IEvaluationResultPageGrain.PageSize;

        // Out of order, as items finish; a partial page stays in memory, since more of its results are coming.
        Assert.Equal(size - 1, await page.AddAsync([.. Enumerable.Range(1, size - 1).Reverse().Select(Result)]));
        Assert.Equal(before + 1, await GrainActivations.CountAsync(fixture.Grains, PageGrain));

        Assert.Equal(1, await page.AddAsync([Result(0)]));
        var after = await GrainActivations.PollAsync(fixture.Grains, PageGrain, before);
        Assert.True(after == before, $"{after - before} page activations left after the page was complete");

        // Read back from storage: every result once, in dataset order, and a result added again is not stored twice.
        Assert.Equal(Enumerable.Range(0, size), (await page.GetAsync()).Select(r => r.Index));
        Assert.Equal(0, await page.AddAsync([Result(7) with { Output = "second" }]));
        Assert.Equal("out 7", (await page.GetAsync()).Single(r => r.Index == 7).Output);
    }

    private static EvaluationItemResult Result(int index) =>
        new(index, $"item-{index}", $"out {index}", 1.5, 10, 20, 300, 0, null, [new ItemScore("exact", 1, true, "matches")]);
}
