using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using Platform.IntegrationTests.Gateway;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Budgets;

/// <summary>Budgets through the real host: reservations against the fake upstream, 429s, headers, streams, reports.</summary>
[Collection(GatewayCollection.Name)]
public sealed class BudgetsTests(GatewayFixture fixture)
{
    /// <summary>What one request on <c>budget-ok</c> with <c>max_tokens: 5</c> costs (5 output tokens at $1,000 per million).</summary>
    private const decimal RequestCost = 0.005m;

    /// <summary>A streamed request with <c>max_tokens: 4</c> (the fake streams 4 tokens).</summary>
    private const decimal StreamCost = 0.004m;

    private sealed record Tenant(string Id, HttpClient Owner, HttpClient Client, string ClientKeyId, string ClientKey);

    private async Task<Tenant> NewTenantAsync()
    {
        var id = await fixture.Host.CreateTenantAsync();
        var (_, owner) = await fixture.Host.CreateKeyAsync(id, "owner");
        var (clientId, client) = await fixture.Host.CreateKeyAsync(id, "client");
        return new Tenant(id, fixture.Host.ClientWithKey(owner), fixture.Host.ClientWithKey(client), clientId, client);
    }

    private static StringContent Chat(string model = "budget-ok", int maxTokens = 5, bool stream = false, string? user = null) => new(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}],"max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}}{{(stream ? ",\"stream_options\":{\"include_usage\":true}" : "")}}{{(user is null ? "" : $",\"user\":\"{user}\"")}}}""",
        Encoding.UTF8,
        "application/json");

    private static async Task PutAsync(HttpClient owner, string path, object body)
    {
        using var response = await owner.PutAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static object UsdPerDay(decimal amount) => new { limits = new[] { new { metric = "usd", amount, window = "day" } } };

    private static async Task<JsonElement> StatusAsync(HttpClient owner, string scope, string id)
    {
        using var response = await owner.GetAsync($"/api/v1/budgets/{scope}/{Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static decimal Cost(HttpResponseMessage response) =>
        decimal.Parse(response.Headers.GetValues("x-platform-cost-usd").Single(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task ConcurrentRequests_AgainstABudgetForExactly50_Exactly50Succeed_TheRestAre429sWithRetryAfterAndBudgetHeaders()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(50 * RequestCost));
        var before = fixture.Upstream.Calls.GetValueOrDefault("ok");

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => t.Client.PostAsync("/v1/chat/completions", Chat())));
        try
        {
            Assert.Equal(50, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
            Assert.Equal(150, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
            var refused = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            Assert.True(int.Parse(refused.Headers.RetryAfter!.ToString(), CultureInfo.InvariantCulture) > 0);
            Assert.Equal("0.25", refused.Headers.GetValues("x-platform-budget-limit-usd").Single());
            Assert.NotEmpty(refused.Headers.GetValues("x-platform-budget-reset").Single());
            var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("budget_exceeded", error.GetProperty("code").GetString());
            Assert.Contains("budget", error.GetProperty("message").GetString()!, StringComparison.OrdinalIgnoreCase);

            // Refused requests never reached the provider; the successes' costs add up to the spend, at most the limit.
            Assert.Equal(50, fixture.Upstream.Calls.GetValueOrDefault("ok") - before);
            var spent = responses.Where(r => r.IsSuccessStatusCode).Sum(Cost);
            // Settlements are sent off the response path: the status catches up within a batch or two.
            var status = await Poll.UntilAsync(
                () => StatusAsync(t.Owner, "tenant", t.Id), s => s.GetProperty("settledRequests").GetInt64() == 50, TimeSpan.FromSeconds(10));
            Assert.Equal(spent, status.GetProperty("settledUsd").GetDecimal());
            Assert.True(spent <= 50 * RequestCost);
            Assert.Equal(0, status.GetProperty("outstandingReservations").GetInt32());
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public async Task AnImage_IsReservedAtTheRoutesImageTokens_SoATokenBudgetTooSmallForItIsRefusedBeforeTheCall()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", new { limits = new[] { new { metric = "tokens", amount = 1000m, window = "day" } } });
        var before = fixture.Upstream.Calls.GetValueOrDefault("ok");

        using var text = await t.Client.PostAsync("/v1/chat/completions", Chat());
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);

        // The same request with one small image: its text is a few tokens, but a provider may bill 1,536 for the image.
        using var image = await t.Client.PostAsync("/v1/chat/completions", new StringContent(
            """{"model":"budget-ok","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"Say hello"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}""",
            Encoding.UTF8,
            "application/json"));
        // More than the whole limit: refused as a request no budget window could ever pay for, before anything goes upstream.
        Assert.Equal(HttpStatusCode.BadRequest, image.StatusCode);
        var error = JsonDocument.Parse(await image.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("request_exceeds_budget", error.GetProperty("code").GetString());
        Assert.Equal(1, fixture.Upstream.Calls.GetValueOrDefault("ok") - before);
    }

    [Fact]
    public async Task ConcurrentStreams_AgainstABudgetForExactly20_Exactly20Complete()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(20 * StreamCost));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 80).Select(async _ =>
        {
            using var response = await t.Client.PostAsync("/v1/chat/completions", Chat(maxTokens: 4, stream: true));
            var body = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, Done: body.Contains("data: [DONE]", StringComparison.Ordinal));
        }));

        Assert.Equal(20, outcomes.Count(o => o.StatusCode == HttpStatusCode.OK && o.Done));
        Assert.Equal(60, outcomes.Count(o => o.StatusCode == HttpStatusCode.TooManyRequests));
        var status = await Poll.UntilAsync(
            () => StatusAsync(t.Owner, "tenant", t.Id), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(20 * StreamCost, status.GetProperty("settledUsd").GetDecimal());
    }

    [Fact]
    public async Task MixedOutcomes_IncludingClientsThatLeave_LeaveNoReservationBehind_AndSpendEqualsTheSumOfCosts()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(1000));
        await PutAsync(t.Owner, $"/api/v1/budgets/key/{t.ClientKeyId}", new { limits = new[] { new { metric = "requests", amount = 100_000m, window = "minute" } } });

        var costs = new System.Collections.Concurrent.ConcurrentBag<decimal>();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var gate = new SemaphoreSlim(16);
        await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var (model, stream) = (i % 10) switch
                {
                    0 or 1 => ("budget-broken", false), // 502
                    2 => ("budget-fallback", false), // served by the fallback
                    3 => ("budget-hang", false), // 504 after the route's timeout
                    4 or 5 => ("budget-ok", true),
                    _ => ("budget-ok", false),
                };
                using var response = await t.Client.PostAsync("/v1/chat/completions", Chat(model, maxTokens: stream ? 4 : 5, stream: stream));
                await response.Content.ReadAsStringAsync();
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if (response.Headers.Contains("x-platform-cost-usd"))
                {
                    costs.Add(Cost(response));
                }
                else if (response.IsSuccessStatusCode)
                {
                    costs.Add(StreamCost); // streams report their cost in the usage chunk; the fake streams 4 tokens
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        // Clients that leave: mid-request (the upstream hangs) and mid-stream (after the first bytes).
        for (var i = 0; i < 20; i++)
        {
            using var leave = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t.Client.PostAsync("/v1/chat/completions", Chat("budget-hang"), leave.Token));
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat(maxTokens: 4, stream: true) };
            using var response = await t.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var body = await response.Content.ReadAsStreamAsync();
            _ = await body.ReadAsync(new byte[16]);
        }

        Assert.Equal(new[] { 200, 502, 504 }, statuses.Keys.Order().ToArray());
        var status = await Poll.UntilAsync(
            () => StatusAsync(t.Owner, "tenant", t.Id), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(15));
        var key = await Poll.UntilAsync(
            () => StatusAsync(t.Owner, "key", t.ClientKeyId), s => s.GetProperty("outstandingReservations").GetInt32() == 0 && s.GetProperty("leases").GetInt32() == 0, TimeSpan.FromSeconds(15));
        Assert.Equal(0m, status.GetProperty("reserved").GetProperty("usd").GetDecimal());

        // The 1,000 requests' costs, plus whatever the 20 streams that were left produced (at most 4 tokens each).
        var settled = status.GetProperty("settledUsd").GetDecimal();
        Assert.InRange(settled - costs.Sum(), 0m, 20 * StreamCost);
        Assert.Equal(status.GetProperty("settledRequests").GetInt64(), key.GetProperty("settledRequests").GetInt64());
    }

    [Fact]
    public async Task FirstBurstOfANewEndUser_IsHeldToTheDefaultUserBudget()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, "/api/v1/budgets/default-user", UsdPerDay(3 * RequestCost));

        var burst = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
        {
            using var response = await t.Client.PostAsync("/v1/chat/completions", Chat(user: "never-seen-" + t.Id));
            return response.StatusCode;
        }));
        Assert.Equal(3, burst.Count(s => s == HttpStatusCode.OK));

        // Another user has a budget of their own; the tenant as a whole is not limited.
        using var other = await t.Client.PostAsync("/v1/chat/completions", Chat(user: "someone-else"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        var user = await StatusAsync(t.Owner, "user", "never-seen-" + t.Id);
        Assert.Equal(3 * RequestCost, user.GetProperty("windows")[0].GetProperty("used").GetDecimal());
    }

    [Fact]
    public async Task AStreamPastWhatItReserved_EndsWithAnOpenAiShapedBudgetError_AndIsChargedWhatItProduced()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(1));

        // The fake upstream ignores max_tokens and streams 4 tokens; 2 were reserved.
        using var response = await t.Client.PostAsync("/v1/chat/completions", Chat(maxTokens: 2, stream: true));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        var last = body.Split("\n", StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("data: ", StringComparison.Ordinal));
        var error = JsonDocument.Parse(last["data: ".Length..]).RootElement.GetProperty("error");
        Assert.Equal("budget_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("max_tokens", error.GetProperty("message").GetString()!, StringComparison.Ordinal);

        var status = await Poll.UntilAsync(
            () => StatusAsync(t.Owner, "tenant", t.Id), s => s.GetProperty("settledRequests").GetInt64() == 1, TimeSpan.FromSeconds(10));
        Assert.InRange(status.GetProperty("settledUsd").GetDecimal(), 0.002m, 0.003m); // 2 or 3 tokens produced before the cut
    }

    [Fact]
    public async Task LoweringABudgetBelowItsSpend_RefusesAtOnce_KeepsTheSpend_AndEveryChangeIsAudited()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/key/{t.ClientKeyId}", UsdPerDay(1));
        for (var i = 0; i < 3; i++)
        {
            using var ok = await t.Client.PostAsync("/v1/chat/completions", Chat());
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await PutAsync(t.Owner, $"/api/v1/budgets/key/{t.ClientKeyId}", UsdPerDay(0.01m));
        using var refused = await t.Client.PostAsync("/v1/chat/completions", Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var status = await StatusAsync(t.Owner, "key", t.ClientKeyId);
        Assert.Equal(3 * RequestCost, status.GetProperty("windows")[0].GetProperty("used").GetDecimal());

        using var reset = await t.Owner.PostAsync($"/api/v1/budgets/key/{t.ClientKeyId}/reset", null);
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        using var again = await t.Client.PostAsync("/v1/chat/completions", Chat());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var audit = await Poll.UntilAsync(
            async () => await t.Owner.GetStringAsync($"/api/v1/tenants/{t.Id}/audit?limit=100"),
            a => a.Contains("budget.reset", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Equal(2, CountOf(audit, "\"budget.set\""));
        Assert.Contains($"budget/{t.Id}/key/{t.ClientKeyId}", audit, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string value) => (text.Length - text.Replace(value, "", StringComparison.Ordinal).Length) / value.Length;

    [Theory]
    [InlineData("""{"limits":[{"metric":"usd","amount":-1,"window":"day"}]}""", "limits[0].amount")]
    [InlineData("""{"limits":[{"metric":"usd","amount":"ten","window":"day"}]}""", "limits[0].amount")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1e40,"window":"day"}]}""", "limits[0].amount")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1e12,"window":"day"}]}""", "limits[0].amount")]
    [InlineData("""{"limits":[{"metric":"tokens","amount":1.5,"window":"day"}]}""", "limits[0].amount")]
    [InlineData("""{"limits":[{"metric":"bananas","amount":1,"window":"day"}]}""", "limits[0].metric")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"fortnight"}]}""", "limits[0].window")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"custom","windowSeconds":0}]}""", "limits[0].windowSeconds")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"custom"}]}""", "limits[0].windowSeconds")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"day","windowSeconds":60}]}""", "limits[0].windowSeconds")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"day","rolling":true,"rollover":true}]}""", "limits[0].rollover")]
    [InlineData("""{"limits":[]}""", "limits")]
    [InlineData("""{"limits":[null]}""", "limits[0]")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"day"}],"alertThresholds":[0]}""", "alertThresholds")]
    [InlineData("""{"limits":[{"metric":"usd","amount":1,"window":"day"},{"metric":"usd","amount":2,"window":"day"}]}""", "limits[1]")]
    public async Task AnInvalidLimit_IsA400NamingTheField_AndChangesNothing(string body, string field)
    {
        var t = await NewTenantAsync();
        using var response = await t.Owner.PutAsync($"/api/v1/budgets/tenant/{t.Id}", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        var status = await StatusAsync(t.Owner, "tenant", t.Id);
        Assert.False(status.TryGetProperty("policy", out var policy) && policy.ValueKind != JsonValueKind.Null, "nothing was set");
    }

    [Theory]
    [InlineData("planet", "x", HttpStatusCode.BadRequest)]
    [InlineData("key", "key_doesnotexist", HttpStatusCode.NotFound)]
    [InlineData("deployment", "no-such-deployment", HttpStatusCode.NotFound)]
    [InlineData("tenant", "someone-else", HttpStatusCode.NotFound)]
    public async Task UnknownScopes_AreRefused(string scope, string id, HttpStatusCode expected)
    {
        var t = await NewTenantAsync();
        using var response = await t.Owner.PutAsJsonAsync($"/api/v1/budgets/{scope}/{id}", UsdPerDay(1));
        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("key", "key_doesnotexist")]
    [InlineData("deployment", "no-such-deployment")]
    public async Task ReadingTheBudgetOfAKeyOrDeploymentThatDoesNotExist_IsA404(string scope, string id)
    {
        var t = await NewTenantAsync();
        using var response = await t.Owner.GetAsync($"/api/v1/budgets/{scope}/{id}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task ClientAndViewerKeys_CannotChangeBudgets()
    {
        var t = await NewTenantAsync();
        var (_, viewer) = await fixture.Host.CreateKeyAsync(t.Id, "viewer");
        using var viewerClient = fixture.Host.ClientWithKey(viewer);
        using var asViewer = await viewerClient.PutAsJsonAsync($"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(1000));
        using var asClient = await t.Client.PutAsJsonAsync($"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(1000));
        Assert.Equal(HttpStatusCode.Forbidden, asViewer.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, asClient.StatusCode);
        using var read = await viewerClient.GetAsync($"/api/v1/budgets/tenant/{t.Id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task ARequestThatCanNeverFit_IsA400NamingMaxTokens_AndRequestLimitsUseOpenAiHeaders()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", new
        {
            limits = new object[] { new { metric = "usd", amount = 0.05m, window = "day" }, new { metric = "requests", amount = 2m, window = "hour", rolling = true } },
        });
        using var huge = await t.Client.PostAsync("/v1/chat/completions", Chat(maxTokens: 100));
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        var error = JsonDocument.Parse(await huge.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("request_exceeds_budget", error.GetProperty("code").GetString());
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());

        using var first = await t.Client.PostAsync("/v1/chat/completions", Chat());
        Assert.Equal("2", first.Headers.GetValues("x-ratelimit-limit-requests").Single());
        Assert.Equal("1", first.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        using var second = await t.Client.PostAsync("/v1/chat/completions", Chat());
        using var third = await t.Client.PostAsync("/v1/chat/completions", Chat());
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("0", third.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("requests_limit_exceeded", JsonDocument.Parse(await third.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Embeddings_AreAdmittedAndChargedLikeChat_NotAWayAroundTheBudget()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", new { limits = new[] { new { metric = "requests", amount = 2m, window = "hour", rolling = true } } });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await t.Client.PostAsync("/v1/embeddings", new StringContent("""{"model":"embed","input":"hello"}""", Encoding.UTF8, "application/json"));
            statuses.Add(response.StatusCode);
            if (i == 2)
            {
                Assert.Equal("requests_limit_exceeded", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
            }
        }

        Assert.Equal(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }, statuses);
        var status = await Poll.UntilAsync(() => StatusAsync(t.Owner, "tenant", t.Id), s => s.GetProperty("settledRequests").GetInt64() == 2, TimeSpan.FromSeconds(10));
        Assert.Equal(2 * 6 * 0.02m / 1_000_000m, status.GetProperty("settledUsd").GetDecimal()); // the fake reports 6 input tokens
    }

    [Fact]
    public async Task TheOfficialOpenAiSdk_SeesABudgetRefusalAsA429()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(RequestCost));
        var chat = fixture.OpenAiClient(t.ClientKey).GetChatClient("budget-ok");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 5 };
        var ok = await chat.CompleteChatAsync([new UserChatMessage("Say hello")], options);
        Assert.Equal("Hello from ok", ok.Value.Content[0].Text);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("Say hello")], options));
        Assert.Equal(429, refused.Status);
    }

    [Fact]
    public async Task SixteenClients_AgainstAUsdBudgetForExactly300_AreServedFromALease_Exactly300Succeed_AndTheReportMatchesTheCosts()
    {
        // The README's must-show at a size where the silo leases a slice: exactly as many as the budget pays for, then 429s.
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", UsdPerDay(300 * RequestCost));
        var leasesSeen = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                leasesSeen = Math.Max(leasesSeen, (await StatusAsync(t.Owner, "tenant", t.Id)).GetProperty("leases").GetInt32());
                await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
            }
        });
        var next = -1;
        var results = new System.Collections.Concurrent.ConcurrentBag<(HttpStatusCode Status, decimal Cost, string? RetryAfter)>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < 400)
            {
                using var response = await t.Client.PostAsync("/v1/chat/completions", Chat());
                results.Add((response.StatusCode, response.IsSuccessStatusCode ? Cost(response) : 0, response.Headers.RetryAfter?.ToString()));
            }
        }));
        await stop.CancelAsync();
        await watcher;

        Assert.True(leasesSeen > 0, "the silo never leased a slice of a busy tenant's budget");
        Assert.Equal(300, results.Count(r => r.Status == HttpStatusCode.OK));
        Assert.Equal(100, results.Count(r => r.Status == HttpStatusCode.TooManyRequests));
        Assert.All(results.Where(r => r.Status == HttpStatusCode.TooManyRequests), r => Assert.NotNull(r.RetryAfter));
        var costs = results.Sum(r => r.Cost);
        Assert.Equal(300 * RequestCost, costs);
        var status = await Poll.UntilAsync(
            () => StatusAsync(t.Owner, "tenant", t.Id),
            s => s.GetProperty("leases").GetInt32() == 0 && s.GetProperty("outstandingReservations").GetInt32() == 0,
            TimeSpan.FromSeconds(15));
        Assert.Equal(costs, status.GetProperty("settledUsd").GetDecimal());
        var report = await Poll.UntilAsync(
            async () => JsonDocument.Parse(await t.Owner.GetStringAsync("/api/v1/budgets/report?groupBy=key")).RootElement.Clone(),
            r => r.GetProperty("total").GetProperty("requests").GetInt64() == 300,
            TimeSpan.FromSeconds(10));
        Assert.Equal(costs, report.GetProperty("total").GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task TheSpendReport_ByKeyUserAndModel_AddsUpToTheResponsesCosts()
    {
        var t = await NewTenantAsync();
        var (_, second) = await fixture.Host.CreateKeyAsync(t.Id, "client");
        using var secondClient = fixture.Host.ClientWithKey(second);
        var total = 0m;
        foreach (var (client, user, model) in new[] { (t.Client, "ann", "budget-ok"), (t.Client, "bob", "budget-fallback"), (secondClient, "ann", "budget-ok"), (t.Client, "ann", "ok") })
        {
            using var response = await client.PostAsync("/v1/chat/completions", Chat(model, user: user));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            total += Cost(response);
        }

        var report = await Poll.UntilAsync(
            async () => JsonDocument.Parse(await t.Owner.GetStringAsync("/api/v1/budgets/report?groupBy=user")).RootElement.Clone(),
            r => r.GetProperty("total").GetProperty("requests").GetInt64() == 4,
            TimeSpan.FromSeconds(10));
        Assert.Equal(total, report.GetProperty("total").GetProperty("costUsd").GetDecimal());
        var ann = report.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("group").GetString() == "ann");
        Assert.Equal(3, ann.GetProperty("requests").GetInt64());

        var byModel = JsonDocument.Parse(await t.Owner.GetStringAsync("/api/v1/budgets/report?groupBy=model")).RootElement;
        var models = byModel.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("group").GetString()).Order().ToArray();
        Assert.Equal(new[] { "budget-ok", "ok" }, models); // the fallback's request is charged to the route that served it

        using var bad = await t.Owner.GetAsync("/api/v1/budgets/report?groupBy=planet");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var tooLong = await t.Owner.GetAsync("/api/v1/budgets/report?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
    }

    /// <summary>About 5,000 tokens of text that is not a user message: a provider bills it as input all the same.</summary>
    private static readonly string Bulk = string.Join(' ', Enumerable.Range(0, 5000).Select(i => $"w{i}"));

    [Theory]
    [InlineData("tool-result")]
    [InlineData("tool-arguments")]
    [InlineData("tool-schema")]
    [InlineData("response-schema")]
    public async Task APromptHiddenInToolsOrSchemas_IsCountedInTheReservation_SoItCannotOverspend(string where)
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, $"/api/v1/budgets/tenant/{t.Id}", new { limits = new[] { new { metric = "tokens", amount = 1000m, window = "day" } } });
        var hi = new JsonObject { ["role"] = "user", ["content"] = "hi" };
        JsonObject CallOf(string arguments) => new()
        {
            ["role"] = "assistant",
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "c1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "f", ["arguments"] = arguments },
            }),
        };
        JsonObject ResultOf(string content) => new() { ["role"] = "tool", ["tool_call_id"] = "c1", ["content"] = content };
        var request = new JsonObject
        {
            ["model"] = "budget-ok",
            ["max_tokens"] = 5,
            ["messages"] = where switch
            {
                "tool-result" => new JsonArray(hi, CallOf("{}"), ResultOf(Bulk)),
                "tool-arguments" => new JsonArray(hi, CallOf(JsonSerializer.Serialize(new { a = Bulk })), ResultOf("ok")),
                _ => new JsonArray(hi),
            },
        };
        var schema = new JsonObject { ["type"] = "object", ["description"] = Bulk };
        if (where == "tool-schema")
        {
            request["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function", ["function"] = new JsonObject { ["name"] = "f", ["description"] = Bulk, ["parameters"] = new JsonObject { ["type"] = "object" } },
            });
        }
        else if (where == "response-schema")
        {
            request["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "s", ["schema"] = schema } };
        }

        var before = fixture.Upstream.Calls.GetValueOrDefault("ok");

        using var response = await t.Client.PostAsync("/v1/chat/completions", new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));

        // Thousands of input tokens against a 1,000-token budget: refused before the provider is paid, not reserved as ~20.
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("request_exceeds_budget", JsonDocument.Parse(body).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(before, fixture.Upstream.Calls.GetValueOrDefault("ok"));
    }

    [Theory]
    [InlineData("to=0001-01-01T00:00:00Z", "to")]
    [InlineData("to=0001-01-20T00:00:00Z", "to")]
    [InlineData("from=0001-01-01T00:00:00Z", "from")]
    [InlineData("from=1960-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    public async Task TheReport_WithADateBefore1970_IsA400NamingIt_NeverA500(string query, string field)
    {
        var t = await NewTenantAsync();

        using var response = await t.Owner.GetAsync($"/api/v1/budgets/report?{query}");

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, JsonDocument.Parse(body).RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AnEndUserWithASlashInItsId_IsLimitedByTheBudgetSetOnItsEscapedId()
    {
        var t = await NewTenantAsync();
        var user = "team/alice%" + Guid.NewGuid().ToString("N")[..6];

        using var set = await t.Owner.PutAsJsonAsync(
            $"/api/v1/budgets/user/{Uri.EscapeDataString(user)}", new { limits = new[] { new { metric = "requests", amount = 1m, window = "day" } } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal(user, JsonDocument.Parse(await set.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());

        using var first = await t.Client.PostAsync("/v1/chat/completions", Chat(user: user));
        using var second = await t.Client.PostAsync("/v1/chat/completions", Chat(user: user));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var status = await Poll.UntilAsync(() => StatusAsync(t.Owner, "user", user), s => s.GetProperty("settledRequests").GetInt64() == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(user, status.GetProperty("id").GetString());
    }

    [Fact]
    public async Task AnEndUserHeaderLongerThanTheUserField_IsA400NamingIt_AndReachesNoBudget()
    {
        var t = await NewTenantAsync();
        await PutAsync(t.Owner, "/api/v1/budgets/default-user", UsdPerDay(1));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Chat() };
        request.Headers.Add("x-platform-user", new string('u', 10_000));

        using var response = await t.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("x-platform-user", error.GetProperty("param").GetString());
        var report = JsonDocument.Parse(await t.Owner.GetStringAsync("/api/v1/budgets/report?groupBy=user")).RootElement;
        Assert.Equal(0, report.GetProperty("total").GetProperty("requests").GetInt64());
    }
}
