using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>Runs that are cancelled, and runs whose silo is killed in the middle, against a provider that takes 40 ms a call.</summary>
public sealed class EvaluationResumeTests
{
    private static readonly object[] Contains = [new { name = "hello", kind = "contains", value = "Hello" }];

    [Fact]
    public async Task ARunWhoseSiloIsKilled_ResumesWhereItStopped_ScoringAndBillingNoItemTwice()
    {
        var upstream = new FakeOpenAiServer();
        await upstream.InitializeAsync();
        var data = TestEnvironment.NewTempDirectory("platform-eval-resume");
        var settings = SiloProcess.EmbeddedSettings(data);
        EvaluationFixture.Routes(settings, upstream, "slow-eval");
        var silo = SiloProcess.Start(settings);
        try
        {
            await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
            var owner = await OwnerAsync(silo);
            using var client = Client(silo, owner);
            var items = Enumerable.Range(0, 200).Select(i => new { id = $"k{i}", messages = new[] { new { role = "user", content = $"resume {i}" } } });
            var version = await EvaluationFixture.ImportAsync(client, "resume", items);
            var id = await EvaluationFixture.StartAsync(client, new
            {
                dataset = "resume", datasetVersion = version, target = new { release = new { modelRoute = "slow-eval" } }, evaluators = Contains, concurrency = 4,
            });

            // Killed once a good part is stored, and well before the end.
            var stored = await Poll.UntilAsync(
                async () => JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}")).RootElement.GetProperty("completedItems").GetInt32(),
                n => n >= 40,
                TimeSpan.FromSeconds(60));
            Assert.InRange(stored, 40, 150);
            silo.KillHard();
            var callsAtKill = upstream.Calls.GetValueOrDefault("slow-eval");

            silo = SiloProcess.Start(settings);
            await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var after = Client(silo, owner);
            var run = await EvaluationFixture.FinishedAsync(after, id, TimeSpan.FromSeconds(90));
            Assert.Equal("completed", run.GetProperty("status").GetString());
            Assert.Equal(200, run.GetProperty("completedItems").GetInt32());

            // Every item stored once...
            var lines = (await after.GetStringAsync($"/api/v1/evaluations/runs/{id}/results.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var indexes = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("index").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, 200), indexes);

            // ...and the provider called again only for items not stored before the kill: at most those that were in flight
            // (4) or finished but not yet stored (at most one flush of 50) when it died.
            var calls = upstream.Calls.GetValueOrDefault("slow-eval");
            Assert.True(calls <= 200 + 4 + 50, $"{calls} provider calls for 200 items ({stored} stored, {callsAtKill} calls when the silo was killed)");
            Assert.True(calls - callsAtKill <= 200 - stored + 4, $"{calls - callsAtKill} calls after the restart for {200 - stored} items left");
        }
        finally
        {
            await silo.DisposeAsync();
            await upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task Cancel_StopsARun_AndKeepsWhatFinished()
    {
        var upstream = new FakeOpenAiServer();
        await upstream.InitializeAsync();
        var settings = SiloProcess.EmbeddedSettings(TestEnvironment.NewTempDirectory("platform-eval-cancel"));
        EvaluationFixture.Routes(settings, upstream, "slow-cancel");
        await using var silo = SiloProcess.Start(settings);
        try
        {
            await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var client = Client(silo, await OwnerAsync(silo));
            var items = Enumerable.Range(0, 100).Select(i => new { messages = new[] { new { role = "user", content = $"cancel {i}" } } });
            var version = await EvaluationFixture.ImportAsync(client, "cancel", items);
            var id = await EvaluationFixture.StartAsync(client, new
            {
                dataset = "cancel", datasetVersion = version, target = new { release = new { modelRoute = "slow-cancel" } }, evaluators = Contains, concurrency = 1,
            });
            await Poll.UntilAsync(
                async () => JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}")).RootElement.GetProperty("completedItems").GetInt32(),
                n => n >= 3,
                TimeSpan.FromSeconds(30));

            using var cancel = await client.PostAsync($"/api/v1/evaluations/runs/{id}/cancel", null);
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            var cancelled = JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
            var completed = cancelled.GetProperty("completedItems").GetInt32();
            Assert.InRange(completed, 3, 99);

            var results = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}/results?limit=1000")).RootElement;
            Assert.Equal(completed, results.GetProperty("items").GetArrayLength());
            Assert.InRange(upstream.Calls.GetValueOrDefault("slow-cancel"), completed, completed + 1);
        }
        finally
        {
            await upstream.DisposeAsync();
        }
    }

    private static HttpClient Client(SiloProcess silo, string key)
    {
        var client = new HttpClient { BaseAddress = silo.Http.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<string> OwnerAsync(SiloProcess silo)
    {
        using var admin = Client(silo, TestEnvironment.AdminKey);
        using (var tenant = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = "evals", displayName = "Evaluations" }))
        {
            Assert.True(tenant.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict);
        }

        using var key = await admin.PostAsJsonAsync("/api/v1/tenants/evals/keys", new { name = "owner", role = "owner" });
        return JsonDocument.Parse(await key.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
    }
}
