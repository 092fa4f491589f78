using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>Runs against prompt versions from the registry, with a judge on its own route, and within the tenant's budget.</summary>
[Collection(EvaluationCollection.Name)]
public sealed class EvaluationReleaseTests(EvaluationFixture fixture)
{
    [Fact]
    public async Task ItemsInput_IsRenderedThroughThePromptVersion_AndTheJudgesCost_IsKeptApartFromTheItems()
    {
        using var client = await fixture.NewTenantAsync();
        await CreatePromptAsync(client, "greeter", "Say hello to {{ name }}.", "name");
        await CreatePromptAsync(client, "rubric", "Grade politeness.");
        var version = await EvaluationFixture.ImportAsync(client, "names", [
            new { id = "ada", input = new { name = "Ada" }, expected = "Say hello to Ada." },
            new { id = "alan", input = new { name = "Alan" }, expected = "Say hello to Alan." },
        ]);

        var id = await EvaluationFixture.StartAsync(client, new
        {
            dataset = "names",
            datasetVersion = version,
            target = new { release = new { modelRoute = "echo", prompt = "greeter", promptVersion = 1 } },
            evaluators = new object[]
            {
                new { name = "exact", kind = "exact_match" },
                new { name = "judge", kind = "llm_judge", judgeRoute = "judge-json", judgePrompt = "rubric", judgePromptVersion = "1" },
            },
        });
        var run = await EvaluationFixture.FinishedAsync(client, id);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal("greeter", run.GetProperty("release").GetProperty("prompt").GetString());

        var results = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}/results")).RootElement.GetProperty("items");
        var ada = results.EnumerateArray().Single(r => r.GetProperty("itemId").GetString() == "ada");
        Assert.True(ada.TryGetProperty("output", out var output), ada.GetRawText());
        Assert.Equal("Say hello to Ada.", output.GetString());
        var scores = ada.GetProperty("scores").EnumerateArray().ToDictionary(s => s.GetProperty("evaluator").GetString()!);
        Assert.Equal(1.0, scores["exact"].GetProperty("score").GetDouble());
        Assert.Equal(0.75, scores["judge"].GetProperty("score").GetDouble(), 6);
        Assert.Contains("mostly right", scores["judge"].GetProperty("reason").GetString(), StringComparison.Ordinal);

        // The judge's calls (100 in, 20 out at $1/$2 per million) are its own line, apart from the item's (10 in, 5 out).
        Assert.Equal(140_000, ada.GetProperty("judgeCostNanoUsd").GetInt64());
        Assert.Equal(20_000, ada.GetProperty("costNanoUsd").GetInt64());
        Assert.Equal(280_000, run.GetProperty("judgeCostNanoUsd").GetInt64());
        Assert.Equal(40_000, run.GetProperty("aggregates").GetProperty("costNanoUsd").GetInt64());
        Assert.Contains("Grade politeness.", fixture.Upstream.LastBody["judge-json"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARunIsChargedToTheTenantsBudget_AndStopsWhenTheBudgetRefuses()
    {
        using var client = await fixture.NewTenantAsync();
        var version = await EvaluationFixture.ImportAsync(client, "budgeted",
            Enumerable.Range(0, 50).Select(i => new { messages = new[] { new { role = "user", content = $"b {i}" } } }));
        var tenantId = await TenantIdAsync(client);

        // Three requests a minute: the run's fourth call is refused, and the run ends failed, saying why.
        using (var budget = await client.PutAsJsonAsync($"/api/v1/budgets/tenant/{tenantId}", new { limits = new[] { new { metric = "requests", amount = 3, window = "minute" } } }))
        {
            Assert.True(budget.IsSuccessStatusCode, await budget.Content.ReadAsStringAsync());
        }

        var calls = fixture.Upstream.Calls.GetValueOrDefault("other");
        var id = await EvaluationFixture.StartAsync(client, new
        {
            dataset = "budgeted", datasetVersion = version, target = new { release = new { modelRoute = "other" } },
            evaluators = new[] { new { name = "c", kind = "contains", value = "Hello" } }, concurrency = 1,
        });
        var run = await EvaluationFixture.FinishedAsync(client, id);
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("budget", run.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, run.GetProperty("completedItems").GetInt32());
        Assert.Equal(3, fixture.Upstream.Calls.GetValueOrDefault("other") - calls);
    }

    private static async Task CreatePromptAsync(HttpClient client, string name, string template, params string[] variables)
    {
        var body = JsonSerializer.Serialize(new
        {
            messages = new[] { new { role = "user", template } },
            variables = variables.Select(v => new { name = v, type = "string" }),
            message = "test",
        });
        using var response = await client.PostAsync($"/api/v1/prompts/{name}/versions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> TenantIdAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/v1/me")).RootElement.GetProperty("tenantId").GetString()!;
}
