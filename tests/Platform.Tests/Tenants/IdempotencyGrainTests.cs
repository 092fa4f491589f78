using Microsoft.Extensions.DependencyInjection;
using Platform.Tenants;

namespace Platform.Tests.Tenants;

[Collection(ClusterCollection.Name)]
public sealed class IdempotencyGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task AbandonedClaim_LeavesNeitherStateNorItsExpiryReminderBehind()
    {
        var grain = fixture.Grains.GetGrain<IIdempotencyGrain>("t/" + Guid.NewGuid().ToString("N"));
        var reminders = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();

        Assert.Equal(IdempotencyOutcome.Proceed, (await grain.BeginAsync("first")).Outcome);
        Assert.Single((await reminders.ReadRows(grain.GetGrainId())).Reminders);
        await grain.AbandonAsync("first");

        Assert.Empty((await reminders.ReadRows(grain.GetGrainId())).Reminders);
        Assert.Equal(IdempotencyOutcome.Proceed, (await grain.BeginAsync("another request")).Outcome);
    }
}
