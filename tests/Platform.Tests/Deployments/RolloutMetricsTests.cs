using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Platform.Deployments;
using Platform.Tenants;

namespace Platform.Tests.Deployments;

[Collection(ClusterCollection.Name)]
public sealed class RolloutMetricsTests(ClusterFixture fixture)
{
    private static readonly Actor Owner = new("key_owner", "t", Role.Owner, "req-metrics");

    [Fact]
    public async Task ManualRollback_IsCountedOnce_OnThePlatformMeter_AsManual()
    {
        var tenant = "m" + Guid.NewGuid().ToString("N")[..10];
        var seen = new ConcurrentQueue<(string Trigger, long Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Platform" && instrument.Name == "platform.rollbacks")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var labels = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(labels["platform.tenant"], tenant))
            {
                seen.Enqueue(((string)labels["platform.trigger"]!, value));
            }
        });
        listener.Start();

        var grain = fixture.Grains.GetGrain<IDeploymentGrain>($"{tenant}/bot");
        await grain.CreateAsync(new Release("sim-small"), new RolloutPolicy(), Owner);
        await grain.StartCanaryAsync(new Release("sim-large"), 10, null, "start", Owner);
        await grain.RollbackAsync(null, "bad canary", null, Owner);

        Assert.Equal([("manual", 1L)], seen.ToArray());
    }
}
