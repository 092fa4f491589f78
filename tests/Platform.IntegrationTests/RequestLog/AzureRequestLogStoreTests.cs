using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Platform.IntegrationTests.Infrastructure;
using Platform.RequestLog;
using Platform.Silo.RequestLog;

namespace Platform.IntegrationTests.RequestLog;

/// <summary>The azure profile's request log on Azurite; a pipeline policy records every query the store sends.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureRequestLogStoreTests(AzuriteFixture azurite)
{
    private sealed class RecordingPolicy : HttpPipelineSynchronousPolicy
    {
        public ConcurrentQueue<string> Queries { get; } = new();

        public override void OnSendingRequest(HttpMessage message)
        {
            var query = Uri.UnescapeDataString(message.Request.Uri.Query);
            if (message.Request.Method == RequestMethod.Get && query.Contains("$filter", StringComparison.Ordinal))
            {
                Queries.Enqueue(query);
            }
        }
    }

    private static readonly DateTime Base = DateTime.UtcNow.AddHours(-10);

    private static RequestRecord Row(string tenant, int i, string? user = null) => new()
    {
        Id = $"req-{i:D4}", TenantId = tenant, At = Base.AddMinutes(i * 7), Operation = RequestOperations.Chat, KeyId = "k", EndUser = user,
        ServedRoute = i % 2 == 0 ? "a" : "b", Status = 200, Success = i % 5 != 0, LatencyMs = i, InputTokens = 1, OutputTokens = 2, CostNanoUsd = 1_000_000_007,
    };

    [Fact]
    public async Task RangeQuery_ReadsOnlyTheTenantsPartitions_AndPagesLikeTheEmbeddedStore()
    {
        var policy = new RecordingPolicy();
        var options = new TableClientOptions();
        options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        var table = "RequestLog" + Guid.NewGuid().ToString("N")[..8];
        var store = new AzureTableRequestLogStore(new TableServiceClient(azurite.ConnectionString, options), table);
        var rows = Enumerable.Range(0, 60).Select(i => Row("acme", i, i % 3 == 0 ? "alice" : "bob")).ToList();
        await store.WriteAsync([.. rows, .. Enumerable.Range(0, 30).Select(i => Row("acmf", i)), .. Enumerable.Range(0, 30).Select(i => Row("acm", i))]);

        policy.Queries.Clear();
        var query = new RequestLogQuery("acme", Base.AddHours(-1), Base.AddHours(8), 25);
        var seen = new List<RequestRecord>();
        while (true)
        {
            var page = await store.ListAsync(query);
            seen.AddRange(page.Rows);
            if (page.Next is null)
            {
                break;
            }

            query = query with { After = page.Next };
        }

        Assert.Equal(rows.OrderByDescending(r => r.At).Select(r => r.Id), seen.Select(r => r.Id));
        Assert.All(seen, r => Assert.Equal("acme", r.TenantId));
        Assert.NotEmpty(policy.Queries);
        Assert.All(policy.Queries, q => Assert.Matches(@"PartitionKey ge 'acme\|\d{10}' and PartitionKey le 'acme\|\d{10}'", q));

        var aggregates = await store.AggregateAsync(new AggregateQuery("acme", Base.AddHours(-1), Base.AddHours(8), AggregateGroup.Model, AggregateBucket.Day));
        Assert.Equal(60, aggregates.Sum(a => a.Count));
        Assert.Equal(60 * 1_000_000_007L, aggregates.Sum(a => a.CostNanoUsd));

        Assert.Equal(20, await store.EraseUserAsync("acme", "alice"));
        Assert.Equal(40, (await store.ListAsync(new RequestLogQuery("acme", Base.AddHours(-1), Base.AddHours(8), 1000))).Rows.Count);
        Assert.Equal(30, (await store.ListAsync(new RequestLogQuery("acmf", Base.AddHours(-1), Base.AddHours(8), 1000))).Rows.Count);

        // Retention: everything of acme older than the 30th minute goes; acm and acmf keep theirs.
        var deleted = await store.DeleteOlderThanAsync("acme", Base.AddMinutes(30));
        Assert.Equal(rows.Count(r => r.At < Base.AddMinutes(30) && r.EndUser != "alice"), deleted);
        Assert.Equal(30, (await store.ListAsync(new RequestLogQuery("acm", Base.AddHours(-1), Base.AddHours(8), 1000))).Rows.Count);
        Assert.NotNull(await store.GetAsync("acme", "req-0059", Base.AddHours(-1)));
        Assert.Null(await store.GetAsync("acmf", "req-0059", Base.AddHours(-1)));
    }
}
