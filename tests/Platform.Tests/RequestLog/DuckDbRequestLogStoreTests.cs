using Platform.RequestLog;
using Platform.Silo.RequestLog;
using static Platform.Tests.RequestLog.RequestLogTestRows;

namespace Platform.Tests.RequestLog;

/// <summary>The embedded store's query semantics, on a real DuckDB file in a temporary directory.</summary>
public sealed class DuckDbRequestLogStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reqlog-" + Guid.NewGuid().ToString("N"));
    private readonly DuckDbRequestLogStore _store;

    public DuckDbRequestLogStoreTests() => _store = new DuckDbRequestLogStore(_dir);

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static RequestLogQuery Query(string tenant, int limit = 50) => new(tenant, Base.AddDays(-1), Base.AddDays(1), limit);

    [Fact]
    public async Task Write_ThenGet_ReturnsEveryField()
    {
        var row = new RequestRecord
        {
            Id = "req_1", TenantId = "acme", At = Base, Operation = RequestOperations.Embeddings, Stream = true, KeyId = "k", EndUser = "u",
            Deployment = "d", Arm = "canary", Revision = 7, RequestedModel = "m", ServedRoute = "r", PromptName = "p", PromptVersion = "3",
            Status = 429, ErrorCode = "budget_exceeded", Success = false, LatencyMs = 12.5, TimeToFirstTokenMs = 3.25, InputTokens = 11,
            CachedTokens = 2, OutputTokens = 13, CostNanoUsd = 123_456_789, Attempts = 2, Fallback = true, PromptText = "hi", CompletionText = "there",
        };
        await _store.WriteAsync([row]);

        var read = await _store.GetAsync("acme", "req_1", Base.AddDays(-1));

        Assert.NotNull(read);
        Assert.Equivalent(row, read);
        Assert.Equal(0.123456789m, read.CostUsd);
        Assert.Null(await _store.GetAsync("other", "req_1", Base.AddDays(-1)));
    }

    [Fact]
    public async Task List_PagesNewestFirst_WithoutGapsOrRepeats()
    {
        await _store.WriteAsync([.. Enumerable.Range(0, 25).Select(i => Row("acme", i)), .. Enumerable.Range(0, 5).Select(i => Row("other", i))]);

        var seen = new List<string>();
        var query = Query("acme", limit: 10);
        while (true)
        {
            var page = await _store.ListAsync(query);
            seen.AddRange(page.Rows.Select(r => r.Id));
            if (page.Next is null)
            {
                break;
            }

            query = query with { After = page.Next };
        }

        Assert.Equal(Enumerable.Range(0, 25).Reverse().Select(i => $"req_acme_{i:D6}"), seen);
    }

    [Fact]
    public async Task List_Filters_SelectOnlyMatchingRows()
    {
        await _store.WriteAsync(
        [
            Row("acme", 1, user: "alice", latency: 5, costNano: 10),
            Row("acme", 2, user: "bob", latency: 500, costNano: 5_000_000),
            Row("acme", 3, user: "alice", success: false, model: "other-model"),
            Row("acme", 4, at: Base.AddDays(-3)),
        ]);

        async Task<string[]> Ids(RequestLogQuery q) => [.. (await _store.ListAsync(q)).Rows.Select(r => r.Id[^1..])];

        Assert.Equal(["3", "1"], await Ids(Query("acme") with { User = "alice" }));
        Assert.Equal(["3"], await Ids(Query("acme") with { Success = false }));
        Assert.Equal(["3"], await Ids(Query("acme") with { Status = 502 }));
        Assert.Equal(["3"], await Ids(Query("acme") with { Model = "other-model" }));
        Assert.Equal(["2"], await Ids(Query("acme") with { MinLatencyMs = 100 }));
        Assert.Equal(["2"], await Ids(Query("acme") with { MinCostNanoUsd = 1_000_000 }));
        Assert.Equal(["3", "2", "1"], await Ids(Query("acme")));
    }

    [Fact]
    public async Task Aggregate_GroupsByBucketAndModel_WithExactCostAndPercentiles()
    {
        var rows = Enumerable.Range(0, 100).Select(i => Row("acme", i, at: Base.AddMinutes(i % 2 == 0 ? 1 : 61), model: i % 4 < 2 ? "a" : "b",
            success: i % 10 != 0, latency: i, costNano: 1_000_000_001)).ToList();
        await _store.WriteAsync([.. rows, Row("other", 1)]);
        var query = new AggregateQuery("acme", Base.AddDays(-1), Base.AddDays(1), AggregateGroup.Model, AggregateBucket.Hour);

        var result = await _store.AggregateAsync(query);

        // The in-memory rules are the reference (the Azure store uses them): both stores must agree.
        Assert.Equal(RequestLogRules.Aggregate(rows, query), result);
        Assert.Equal(4, result.Count);
        Assert.Equal(25 * 1_000_000_001L, result[0].CostNanoUsd);
    }

    [Fact]
    public async Task DeleteOlderThan_DeletesOnlyThatTenantsOlderRows()
    {
        await _store.WriteAsync([Row("acme", 1, at: Base.AddDays(-40)), Row("acme", 2, at: Base.AddDays(-1)), Row("other", 3, at: Base.AddDays(-40))]);

        var deleted = await _store.DeleteOlderThanAsync("acme", Base.AddDays(-30));

        Assert.Equal(1, deleted);
        Assert.Null(await _store.GetAsync("acme", "req_acme_000001", DateTime.MinValue));
        Assert.NotNull(await _store.GetAsync("acme", "req_acme_000002", DateTime.MinValue));
        Assert.NotNull(await _store.GetAsync("other", "req_other_000003", DateTime.MinValue));
    }

    [Fact]
    public async Task EraseUser_RemovesThatUsersRowsAndNothingElse()
    {
        await _store.WriteAsync([Row("acme", 1, user: "alice"), Row("acme", 2, user: "bob"), Row("acme", 3), Row("other", 4, user: "alice")]);

        Assert.Equal(1, await _store.EraseUserAsync("acme", "alice"));

        var left = (await _store.ListAsync(Query("acme"))).Rows.Select(r => r.Id);
        Assert.Equal(["req_acme_000003", "req_acme_000002"], left);
        Assert.NotNull(await _store.GetAsync("other", "req_other_000004", DateTime.MinValue));
    }

    [Fact]
    public async Task Rows_SurviveReopeningTheFile()
    {
        await _store.WriteAsync([Row("acme", 1)]);
        _store.Dispose();

        using var reopened = new DuckDbRequestLogStore(_dir);
        Assert.NotNull(await reopened.GetAsync("acme", "req_acme_000001", DateTime.MinValue));
    }
}
