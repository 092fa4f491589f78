using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.IntegrationTests.Gateway;
using Platform.IntegrationTests.Infrastructure;
using Platform.RequestLog;

namespace Platform.IntegrationTests.RequestLog;

/// <summary>The request log end to end: requests through the real host and its fake upstream, rows read back through the API.</summary>
[Collection(GatewayCollection.Name)]
public sealed class RequestLogTests(GatewayFixture fixture)
{
    private sealed record Tenant(string Id, HttpClient Owner, string OwnerKeyId);

    private async Task<Tenant> NewTenantAsync()
    {
        var id = await fixture.Host.CreateTenantAsync();
        var (keyId, owner) = await fixture.Host.CreateKeyAsync(id, "owner");
        return new Tenant(id, fixture.Host.ClientWithKey(owner), keyId);
    }

    private static StringContent Chat(string model, bool stream = false, string? user = null) => new(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}],"max_tokens":5,"stream":{{(stream ? "true" : "false")}}{{(user is null ? "" : $",\"user\":\"{user}\"")}}}""",
        Encoding.UTF8,
        "application/json");

    /// <summary>Sends a request, reads the whole body, and returns its status and <c>x-request-id</c>.</summary>
    private static async Task<(HttpStatusCode Status, string RequestId)> SendAsync(HttpClient client, string path, HttpContent content)
    {
        using var response = await client.PostAsync(path, content);
        await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Headers.GetValues("x-request-id").Single());
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Polls the list until it holds <paramref name="count"/> rows (rows are written off the response path).</summary>
    private static async Task<JsonElement[]> RowsAsync(HttpClient owner, int count, string query = "")
    {
        var rows = await Poll.UntilAsync(
            async () => (await GetJsonAsync(owner, "/api/v1/requests?limit=1000" + query)).GetProperty("data").EnumerateArray().ToArray(),
            r => r.Length >= count,
            TimeSpan.FromSeconds(20));
        Assert.Equal(count, rows.Length);
        return rows;
    }

    [Fact]
    public async Task EveryKindOfRequest_LeavesOneRowWithItsFields()
    {
        var t = await NewTenantAsync();
        var chat = await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok", user: "alice"));
        var stream = await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok", stream: true));
        var embed = await SendAsync(t.Owner, "/v1/embeddings", new StringContent("""{"model":"embed","input":"hello","user":"bob"}""", Encoding.UTF8, "application/json"));
        var fallback = await SendAsync(t.Owner, "/v1/chat/completions", Chat("broken-with-fallback"));
        var broken = await SendAsync(t.Owner, "/v1/chat/completions", Chat("broken"));
        using (var budget = await t.Owner.PutAsJsonAsync(
            $"/api/v1/budgets/tenant/{t.Id}", new { limits = new[] { new { metric = "usd", amount = 0.005m, window = "day" } } }))
        {
            Assert.True(budget.IsSuccessStatusCode);
        }

        // A budget of exactly one budget-ok request (5 output tokens at $1,000 per million): the second is refused.
        var paid = await SendAsync(t.Owner, "/v1/chat/completions", Chat("budget-ok"));
        var refused = await SendAsync(t.Owner, "/v1/chat/completions", Chat("budget-ok"));
        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.BadGateway, HttpStatusCode.OK, HttpStatusCode.TooManyRequests],
            new[] { chat.Status, stream.Status, embed.Status, fallback.Status, broken.Status, paid.Status, refused.Status });

        var rows = (await RowsAsync(t.Owner, 7)).ToDictionary(r => r.GetProperty("id").GetString()!);
        Assert.Equal(new[] { refused, paid, broken, fallback, embed, stream, chat }.Select(r => r.RequestId), rows.Keys);
        Assert.Equal(0.005m, rows[paid.RequestId].GetProperty("costUsd").GetDecimal());

        var c = rows[chat.RequestId];
        Assert.Equal(("chat", false, "alice", "ok", "ok", 200, true), (c.GetProperty("operation").GetString(), c.GetProperty("stream").GetBoolean(),
            c.GetProperty("user").GetString(), c.GetProperty("model").GetString(), c.GetProperty("route").GetString(), c.GetProperty("status").GetInt32(),
            c.GetProperty("success").GetBoolean()));
        Assert.Equal(t.OwnerKeyId, c.GetProperty("keyId").GetString());
        Assert.True(c.GetProperty("outputTokens").GetInt64() > 0 && c.GetProperty("costUsd").GetDecimal() > 0 && c.GetProperty("attempts").GetInt32() == 1);
        Assert.False(c.TryGetProperty("promptText", out _), "content is off by default");

        var s = rows[stream.RequestId];
        Assert.True(s.GetProperty("stream").GetBoolean() && s.GetProperty("success").GetBoolean());
        Assert.True(s.GetProperty("timeToFirstTokenMs").GetDouble() > 0);

        var e = rows[embed.RequestId];
        Assert.Equal(("embeddings", "bob", "embed", true), (e.GetProperty("operation").GetString(), e.GetProperty("user").GetString(),
            e.GetProperty("route").GetString(), e.GetProperty("success").GetBoolean()));
        Assert.True(e.GetProperty("inputTokens").GetInt64() > 0);

        var f = rows[fallback.RequestId];
        Assert.Equal(("broken-with-fallback", "sim-small", true, 2, true), (f.GetProperty("model").GetString(), f.GetProperty("route").GetString(),
            f.GetProperty("fallback").GetBoolean(), f.GetProperty("attempts").GetInt32(), f.GetProperty("success").GetBoolean()));

        var b = rows[broken.RequestId];
        Assert.Equal((502, false, "broken"), (b.GetProperty("status").GetInt32(), b.GetProperty("success").GetBoolean(), b.GetProperty("route").GetString()));
        Assert.Equal(3, b.GetProperty("attempts").GetInt32()); // the first call and its two retries, all failed
        Assert.False(string.IsNullOrEmpty(b.GetProperty("errorCode").GetString()));

        var r = rows[refused.RequestId];
        Assert.Equal((429, "budget_exceeded", false), (r.GetProperty("status").GetInt32(), r.GetProperty("errorCode").GetString(), r.GetProperty("success").GetBoolean()));

        // One request by id, also by the chat completion's id.
        var one = await GetJsonAsync(t.Owner, $"/api/v1/requests/chatcmpl-{chat.RequestId}");
        Assert.Equal(chat.RequestId, one.GetProperty("id").GetString());

        // Aggregates: the seven requests by model, with one error in 'broken' and the 429 in 'budget-ok'.
        var aggregates = (await GetJsonAsync(t.Owner, "/api/v1/requests/aggregates?groupBy=model&bucket=day")).GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(7, aggregates.Sum(a => a.GetProperty("count").GetInt64()));
        Assert.Equal(0.5, aggregates.Single(a => a.GetProperty("group").GetString() == "budget-ok").GetProperty("errorRate").GetDouble());
        Assert.Equal(1.0, aggregates.Single(a => a.GetProperty("group").GetString() == "broken").GetProperty("errorRate").GetDouble());
    }

    [Fact]
    public async Task AnotherTenant_CannotSeeTheRequests_ThroughListGetOrAggregates()
    {
        var owner = await NewTenantAsync();
        var other = await NewTenantAsync();
        var sent = await SendAsync(owner.Owner, "/v1/chat/completions", Chat("ok"));
        await RowsAsync(owner.Owner, 1);

        await GetJsonAsync(other.Owner, $"/api/v1/requests/{sent.RequestId}", HttpStatusCode.NotFound);
        Assert.Empty((await GetJsonAsync(other.Owner, "/api/v1/requests")).GetProperty("data").EnumerateArray());
        Assert.Empty((await GetJsonAsync(other.Owner, "/api/v1/requests/aggregates")).GetProperty("data").EnumerateArray());

        // A cursor made for one tenant is refused for another.
        await SendAsync(owner.Owner, "/v1/chat/completions", Chat("ok"));
        await RowsAsync(owner.Owner, 2);
        var cursor = (await GetJsonAsync(owner.Owner, "/api/v1/requests?limit=1")).GetProperty("next").GetString();
        var refused = await GetJsonAsync(other.Owner, $"/api/v1/requests?limit=1&cursor={cursor}", HttpStatusCode.BadRequest);
        Assert.Equal("cursor", refused.GetProperty("field").GetString());
        var next = await GetJsonAsync(owner.Owner, $"/api/v1/requests?limit=1&cursor={cursor}");
        Assert.Single(next.GetProperty("data").EnumerateArray());
    }

    [Theory]
    [InlineData("?from=yesterday", "from")]
    [InlineData("?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", "from")]
    [InlineData("?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "from")]
    [InlineData("?limit=1001", "limit")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?status=maybe", "status")]
    [InlineData("?minLatencyMs=-1", "minLatencyMs")]
    [InlineData("?minCostUsd=lots", "minCostUsd")]
    [InlineData("?cursor=not-a-cursor", "cursor")]
    [InlineData("/aggregates?groupBy=color", "groupBy")]
    [InlineData("/aggregates?bucket=week", "bucket")]
    [InlineData("/aggregates?to=not-a-time", "to")]
    public async Task BadQuery_Is400NamingTheParameter(string query, string field)
    {
        var path = "/api/v1/requests" + query;
        using var owner = fixture.Host.ClientWithKey((await fixture.Host.CreateKeyAsync("demo", "viewer")).Secret);
        var problem = await GetJsonAsync(owner, path, HttpStatusCode.BadRequest);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.DoesNotContain("Exception", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_DeletesOnlyRowsOlderThanTheTenantsWindow()
    {
        var t = await NewTenantAsync();
        var store = fixture.Host.Services.GetRequiredService<IRequestLogStore>();
        var now = DateTime.UtcNow;
        RequestRecord Row(string id, DateTime at) => new()
        {
            Id = id, TenantId = t.Id, At = at, Operation = RequestOperations.Chat, KeyId = "k", Status = 200, Success = true,
        };
        await store.WriteAsync([Row("old-1", now.AddDays(-11)), Row("old-2", now.AddDays(-20)), Row("recent", now.AddDays(-9))]);
        using (var patch = await t.Owner.PatchAsJsonAsync($"/api/v1/tenants/{t.Id}", new { requestLogRetentionDays = 10 }))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        using var run = await t.Owner.PostAsync("/api/v1/requests/retention/run", null);
        Assert.Equal(2, JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement.GetProperty("deleted").GetInt64());

        Assert.Null(await store.GetAsync(t.Id, "old-1", DateTime.MinValue));
        Assert.Null(await store.GetAsync(t.Id, "old-2", DateTime.MinValue));
        Assert.NotNull(await store.GetAsync(t.Id, "recent", DateTime.MinValue));

        // And a range longer than the new retention is refused.
        var problem = await GetJsonAsync(t.Owner, $"/api/v1/requests?from={now.AddDays(-11):O}", HttpStatusCode.BadRequest);
        Assert.Equal("from", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Erasure_RemovesOneUsersRowsOnly_AndIsAudited()
    {
        var t = await NewTenantAsync();
        await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok", user: "alice"));
        await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok", user: "alice"));
        var bob = await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok", user: "bob"));
        var anonymous = await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok"));
        await RowsAsync(t.Owner, 4);

        using var erase = await t.Owner.DeleteAsync("/api/v1/requests?user=alice");
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        Assert.Equal(2, JsonDocument.Parse(await erase.Content.ReadAsStringAsync()).RootElement.GetProperty("deleted").GetInt64());

        var left = (await GetJsonAsync(t.Owner, "/api/v1/requests")).GetProperty("data").EnumerateArray().Select(r => r.GetProperty("id").GetString());
        Assert.Equal([anonymous.RequestId, bob.RequestId], left);
        var audit = await GetJsonAsync(t.Owner, $"/api/v1/tenants/{t.Id}/audit");
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "requests.erase"
            && e.GetProperty("target").GetString() == "user/alice");
    }

    [Fact]
    public async Task Content_IsStoredOnlyWhenTheTenantOptsIn_CappedToItsSize()
    {
        var t = await NewTenantAsync();
        using (var patch = await t.Owner.PatchAsJsonAsync($"/api/v1/tenants/{t.Id}", new { storeRequestContent = true, requestContentMaxBytes = 12 }))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        await SendAsync(t.Owner, "/v1/chat/completions", Chat("ok"));
        var row = (await RowsAsync(t.Owner, 1))[0];
        Assert.Equal("user: Say he", row.GetProperty("promptText").GetString());
        Assert.True(Encoding.UTF8.GetByteCount(row.GetProperty("completionText").GetString()!) <= 12);

        using var tooBig = await t.Owner.PatchAsJsonAsync($"/api/v1/tenants/{t.Id}", new { requestContentMaxBytes = 1_000_000 });
        Assert.Equal(HttpStatusCode.BadRequest, tooBig.StatusCode);
    }
}
