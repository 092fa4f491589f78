using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>A deployment whose policy gates canaries and promotions on evaluation runs, through the HTTP API.</summary>
[Collection(EvaluationCollection.Name)]
public sealed class PromotionGateTests(EvaluationFixture fixture)
{
    private static readonly object[] Exact = [new { name = "exact", kind = "exact_match" }];

    [Fact]
    public async Task AGate_BlocksAWorseCanary_LetsAnEqualOneThrough_AndAnOverrideIsRecorded()
    {
        using var client = await fixture.NewTenantAsync();
        var items = Enumerable.Range(0, 30).Select(i => new { id = $"g{i}", messages = new[] { new { role = "user", content = $"gate {i}" } }, expected = "Hello from ok" });
        var version = await EvaluationFixture.ImportAsync(client, "gate", items);
        var stable = new { modelRoute = "ok" };
        var worse = new { modelRoute = "other" };
        var equal = new { modelRoute = "ok", temperature = 0.5 };
        using (var created = await client.PostAsJsonAsync("/api/v1/deployments", new
        {
            name = "gated",
            stable,
            policy = new { gate = new { dataset = "gate", thresholds = new[] { new { evaluator = "exact", minPassRate = 0.9 } } } },
        }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // No run of the canary's release yet: blocked, saying so.
        var blocked = await StartCanaryAsync(client, worse, HttpStatusCode.Conflict);
        Assert.Contains("no finished evaluation run of dataset 'gate'", blocked, StringComparison.Ordinal);

        async Task<string> RunAsync(object release)
        {
            var id = await EvaluationFixture.StartAsync(client, new { dataset = "gate", datasetVersion = version, target = new { release }, evaluators = Exact });
            Assert.Equal("completed", (await EvaluationFixture.FinishedAsync(client, id)).GetProperty("status").GetString());
            return id;
        }

        var stableRun = await RunAsync(stable);
        var worseRun = await RunAsync(worse);
        blocked = await StartCanaryAsync(client, worse, HttpStatusCode.Conflict);
        Assert.Contains("exact: pass rate 0 < 0.9", blocked, StringComparison.Ordinal);
        Assert.Contains($"exact: regressed against run {stableRun}", blocked, StringComparison.Ordinal);

        // An operator may start it anyway, with a reason; the history keeps the verdict and the override.
        await StartCanaryAsync(client, worse, HttpStatusCode.OK, gateOverride: "hotfix approved by the on-call lead");
        var history = await HistoryAsync(client);
        var overridden = history.Last(d => d.GetProperty("action").GetString() == "gate.overridden");
        Assert.Contains("hotfix approved by the on-call lead", overridden.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains(worseRun, overridden.GetProperty("evidence").GetString(), StringComparison.Ordinal);
        Assert.Contains(history, d => d.GetProperty("action").GetString() == "gate.blocked");

        // Promotion is gated too, and the overridden canary is still worse.
        using (var promote = await client.PostAsJsonAsync("/api/v1/deployments/gated/canary/promote", new { reason = "try" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, promote.StatusCode);
        }

        using (var rollback = await client.PostAsJsonAsync("/api/v1/deployments/gated/canary/rollback", new { reason = "gate" }))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        }

        // An equal release passes the gate, before its canary and before its promotion.
        await RunAsync(equal);
        await StartCanaryAsync(client, equal, HttpStatusCode.OK);
        using (var promote = await client.PostAsJsonAsync("/api/v1/deployments/gated/canary/promote", new { reason = "evaluated" }))
        {
            Assert.Equal(HttpStatusCode.OK, promote.StatusCode);
        }

        history = await HistoryAsync(client);
        Assert.Equal(2, history.Count(d => d.GetProperty("action").GetString() == "gate.passed"));
        var audit = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/tenants/{await TenantAsync(client)}/audit")).RootElement;
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "deployment.gate.overridden");
    }

    private static async Task<string> StartCanaryAsync(HttpClient client, object release, HttpStatusCode expected, string? gateOverride = null)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/deployments/gated/canary", new { release, weight = 10, gateOverride });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, body);
        return JsonDocument.Parse(body).RootElement.TryGetProperty("detail", out var detail) ? detail.GetString()! : body;
    }

    private static async Task<List<JsonElement>> HistoryAsync(HttpClient client) =>
        [.. JsonDocument.Parse(await client.GetStringAsync("/api/v1/deployments/gated/history?limit=500")).RootElement.GetProperty("entries").EnumerateArray()];

    private static async Task<string> TenantAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/v1/deployments/gated")).RootElement.GetProperty("deployment").GetProperty("tenantId").GetString()!;
}
