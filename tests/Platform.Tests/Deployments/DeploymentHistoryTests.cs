using Platform.Deployments;
using Platform.Prompts;
using Platform.Segments;
using Platform.Tenants;

namespace Platform.Tests.Deployments;

[Collection(ClusterCollection.Name)]
public sealed class DeploymentHistoryTests(ClusterFixture fixture)
{
    private static readonly Actor Owner = new("key_owner", "t", Role.Owner, "req-history");

    [Fact]
    public async Task History_BeyondOneSegment_PagesEveryDecisionOnceInOrder()
    {
        var tenant = "h" + Guid.NewGuid().ToString("N")[..10];
        var grain = fixture.Grains.GetGrain<IDeploymentGrain>($"{tenant}/bot");
        await grain.CreateAsync(new Release("sim-small"), new RolloutPolicy(), Owner);
        await grain.StartCanaryAsync(new Release("sim-large"), 1, null, "start", Owner);
        var changes = (SegmentedList.SegmentSize * 2) + 3;
        for (var i = 0; i < changes; i++)
        {
            await grain.SetWeightAsync(1 + (i % 99), null, $"step {i}", null, Owner);
        }

        var reasons = new List<string>();
        long? after = 0;
        while (after is { } cursor)
        {
            var page = await grain.GetHistoryAsync(cursor, 50);
            reasons.AddRange(page.Entries.Select(d => d.Reason));
            after = page.NextAfter;
        }

        Assert.Equal(["created", "start", .. Enumerable.Range(0, changes).Select(i => $"step {i}")], reasons);
        Assert.Equal(changes + 2, (await grain.GetHistoryAsync(0, 1)).Total);
    }

    [Fact]
    public async Task LabelRollback_AfterItsLastMoveWasSealedIntoASegment_StillFindsThePreviousVersion()
    {
        var tenant = "l" + Guid.NewGuid().ToString("N")[..10];
        var prompt = fixture.Grains.GetGrain<IPromptGrain>(PromptNames.Key(tenant, "p"));
        foreach (var text in new[] { "one", "two", "three" })
        {
            await prompt.CreateVersionAsync(new PromptContent([new PromptMessage("system", text)], [], new PromptParameters()), text, Owner);
        }

        await prompt.MoveLabelAsync("stable", 1, null, false, Owner);
        await prompt.MoveLabelAsync("stable", 3, null, false, Owner);
        for (var i = 0; i < SegmentedList.SegmentSize + 1; i++)
        {
            await prompt.MoveLabelAsync("other", 1 + (i % 3), null, false, Owner);
        }

        var rollback = await prompt.RollbackLabelAsync("stable", 3, Owner);
        var history = await prompt.GetLabelHistoryAsync(0, 500);

        Assert.Equal(1, rollback.To);
        Assert.Equal(SegmentedList.SegmentSize + 4, history.Total);
        Assert.Equal(["stable", "stable"], history.Moves.Take(2).Select(m => m.Label));
        Assert.True(history.Moves[^1].Rollback);
    }
}
