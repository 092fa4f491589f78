using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>Evaluation runs through the HTTP API, against routes on a fake OpenAI server.</summary>
[Collection(EvaluationCollection.Name)]
public sealed class EvaluationRunTests(EvaluationFixture fixture)
{
    private static readonly object[] ExactHello = [new { name = "exact", kind = "exact_match" }, new { name = "has_hello", kind = "contains", value = "Hello" }];

    [Fact]
    public async Task A200ItemRun_WithTheSimulatedProvider_ScoresEveryItem_WithAggregates_ResultsPages_AndAJsonlExport()
    {
        using var client = await fixture.NewTenantAsync();
        var items = Enumerable.Range(0, 200).Select(i => new
        {
            id = $"q{i:000}",
            messages = new[] { new { role = "user", content = $"question {i}" } },
            expected = i % 4 == 0 ? "the" : "never said",
        });
        var version = await EvaluationFixture.ImportAsync(client, "two-hundred", items);
        var id = await EvaluationFixture.StartAsync(client, new
        {
            dataset = "two-hundred",
            datasetVersion = version,
            target = new { release = new { modelRoute = "sim-small" } },
            evaluators = new object[]
            {
                new { name = "long", kind = "length", minLength = 20 },
                new { name = "words", kind = "regex", value = "^[a-z ]+$" },
                new { name = "exact", kind = "exact_match" },
            },
            concurrency = 8,
        });

        var run = await EvaluationFixture.FinishedAsync(client, id);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(200, run.GetProperty("completedItems").GetInt32());
        Assert.Equal(0, run.GetProperty("failedItems").GetInt32());
        var aggregates = run.GetProperty("aggregates");
        Assert.Equal(200, aggregates.GetProperty("count").GetInt64());
        var byName = aggregates.GetProperty("evaluators").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(1.0, byName["long"].GetProperty("passRate").GetDouble());
        Assert.Equal(1.0, byName["words"].GetProperty("passRate").GetDouble());
        Assert.Equal(0.0, byName["exact"].GetProperty("passRate").GetDouble());
        Assert.Equal(200, byName["exact"].GetProperty("scored").GetInt64());
        Assert.True(aggregates.GetProperty("costNanoUsd").GetInt64() > 0);
        Assert.True(aggregates.GetProperty("latencyP99Ms").GetDouble() >= aggregates.GetProperty("latencyP50Ms").GetDouble());

        // Every item once, in dataset order, with its output and scores.
        var seen = new List<JsonElement>();
        int? offset = 0;
        while (offset is { } at)
        {
            var page = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}/results?offset={at}&limit=70")).RootElement.Clone();
            seen.AddRange(page.GetProperty("items").EnumerateArray());
            offset = page.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.Number ? next.GetInt32() : null;
        }

        Assert.Equal(Enumerable.Range(0, 200), seen.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal("q001", seen[1].GetProperty("itemId").GetString());
        Assert.True(seen[1].GetProperty("output").GetString()!.Length >= 20);
        Assert.True(seen[1].GetProperty("outputTokens").GetInt64() > 0);
        Assert.Contains(seen[1].GetProperty("scores").EnumerateArray(), s => s.GetProperty("evaluator").GetString() == "long" && s.GetProperty("passed").GetBoolean());

        var lines = (await client.GetStringAsync($"/api/v1/evaluations/runs/{id}/results.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(200, lines.Length);
        Assert.Equal("q199", JsonDocument.Parse(lines[^1]).RootElement.GetProperty("itemId").GetString());

        var list = JsonDocument.Parse(await client.GetStringAsync("/api/v1/evaluations/runs?dataset=two-hundred")).RootElement;
        Assert.Contains(list.GetProperty("data").EnumerateArray(), r => r.GetProperty("id").GetString() == id && r.GetProperty("status").GetString() == "completed");
    }

    [Fact]
    public async Task Compare_FindsAPlantedRegression_ItemByItem_AndCallsTheSameReleaseEqual()
    {
        using var client = await fixture.NewTenantAsync();
        var items = Enumerable.Range(0, 40).Select(i => new
        {
            id = $"c{i}",
            messages = new[] { new { role = "user", content = $"compare {i}" } },
            expected = "Hello from ok",
        });
        var version = await EvaluationFixture.ImportAsync(client, "compare", items);
        object Run(string route) => new { dataset = "compare", datasetVersion = version, target = new { release = new { modelRoute = route } }, evaluators = ExactHello };
        var baseline = await EvaluationFixture.StartAsync(client, Run("ok"));
        var same = await EvaluationFixture.StartAsync(client, Run("ok"));
        var worse = await EvaluationFixture.StartAsync(client, Run("other"));
        foreach (var id in new[] { baseline, same, worse })
        {
            Assert.Equal("completed", (await EvaluationFixture.FinishedAsync(client, id)).GetProperty("status").GetString());
        }

        var regression = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{worse}/compare?baseline={baseline}")).RootElement;
        var exact = regression.GetProperty("evaluators").EnumerateArray().Single(e => e.GetProperty("evaluator").GetString() == "exact");
        Assert.Equal("regressed", exact.GetProperty("verdict").GetString());
        Assert.Equal(40, exact.GetProperty("regressedCount").GetInt32());
        Assert.Equal(-1.0, exact.GetProperty("meanDifference").GetDouble(), 6);
        Assert.Contains(exact.GetProperty("regressions").EnumerateArray(), r => r.GetProperty("itemId").GetString() == "c7");
        var contains = regression.GetProperty("evaluators").EnumerateArray().Single(e => e.GetProperty("evaluator").GetString() == "has_hello");
        Assert.Equal("equal", contains.GetProperty("verdict").GetString());

        var equal = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{same}/compare?baseline={baseline}")).RootElement;
        Assert.All(equal.GetProperty("evaluators").EnumerateArray(), e => Assert.Equal("equal", e.GetProperty("verdict").GetString()));

        using var itself = await client.GetAsync($"/api/v1/evaluations/runs/{same}/compare?baseline={same}");
        Assert.Equal(HttpStatusCode.BadRequest, itself.StatusCode);
        Assert.Equal("baseline", JsonDocument.Parse(await itself.Content.ReadAsStringAsync()).RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task ARunThatCannotWork_IsRefusedBeforeAnythingIsCalled_NamingWhatIsWrong()
    {
        using var client = await fixture.NewTenantAsync();
        var version = await EvaluationFixture.ImportAsync(client, "refusals", [new { messages = new[] { new { role = "user", content = "x" } } }]);
        var calls = fixture.Upstream.TotalCalls;

        async Task Refused(object run, HttpStatusCode status, string field)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/evaluations/runs", run);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, body);
            Assert.True(body.Contains(field, StringComparison.Ordinal), body);
        }

        var release = new { release = new { modelRoute = "ok" } };
        await Refused(new { dataset = "missing", target = release, evaluators = ExactHello }, HttpStatusCode.NotFound, "missing");
        await Refused(new { dataset = "refusals", datasetVersion = version + 5, target = release, evaluators = ExactHello }, HttpStatusCode.NotFound, "datasetVersion");
        await Refused(new { dataset = "refusals", target = new { release = new { modelRoute = "no-such-route" } }, evaluators = ExactHello }, HttpStatusCode.NotFound, "no-such-route");
        await Refused(new { dataset = "refusals", target = release, evaluators = new[] { new { name = "r", kind = "regex", value = "([a-z" } } },
            HttpStatusCode.BadRequest, "evaluators[0].value");
        await Refused(new { dataset = "refusals", target = release, evaluators = new[] { new { name = "j", kind = "llm_judge", judgeRoute = "nope" } } },
            HttpStatusCode.BadRequest, "evaluators[0].judgeRoute");
        await Refused(new { dataset = "refusals", target = release, evaluators = new[] { new { name = "j", kind = "llm_judge", judgeRoute = "judge", judgePrompt = "no-rubric" } } },
            HttpStatusCode.BadRequest, "evaluators[0].judgePrompt");
        await Refused(new { dataset = "refusals", target = release, evaluators = ExactHello, concurrency = 1000 }, HttpStatusCode.BadRequest, "concurrency");
        await Refused(new { dataset = "refusals", target = new { deployment = "no-deployment" }, evaluators = ExactHello }, HttpStatusCode.NotFound, "no-deployment");
        await Refused(new { dataset = "refusals", evaluators = ExactHello }, HttpStatusCode.BadRequest, "target");
        await Refused(new { dataset = "refusals", target = release, evaluators = Array.Empty<object>() }, HttpStatusCode.BadRequest, "evaluators");
        Assert.Equal(calls, fixture.Upstream.TotalCalls);
    }

    [Fact]
    public async Task AnItemWhoseScoringThrows_IsStoredAsFailedOrUnscored_AndTheRunEnds()
    {
        // The echo route answers with the item's text: JSON whose string is an escaped lone surrogate, which .NET cannot
        // read as a string, so scoring it against a schema throws. The run must still end, with that item accounted for.
        using var client = await fixture.NewTenantAsync();
        var version = await EvaluationFixture.ImportAsync(client, "surrogates",
        [
            new { id = "lone", messages = new[] { new { role = "user", content = "{\"a\":\"\\ud800\"}" } } },
            new { id = "fine", messages = new[] { new { role = "user", content = "{\"a\":\"fine\"}" } } },
        ]);
        var id = await EvaluationFixture.StartAsync(client, new
        {
            dataset = "surrogates",
            datasetVersion = version,
            target = new { release = new { modelRoute = "echo" } },
            evaluators = new object[] { new { name = "schema", kind = "json_schema", value = """{"properties":{"a":{"type":"string","minLength":1}}}""" } },
            concurrency = 1,
        });

        var run = await EvaluationFixture.FinishedAsync(client, id, TimeSpan.FromSeconds(30));
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(2, run.GetProperty("completedItems").GetInt32());
        var text = await client.GetStringAsync($"/api/v1/evaluations/runs/{id}/results");
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);
        var results = JsonDocument.Parse(text).RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["lone", "fine"], results.Select(r => r.GetProperty("itemId").GetString()));
        var lone = results[0];
        var unscored = lone.GetProperty("scores").EnumerateArray()
            .Any(s => !s.TryGetProperty("score", out var score) || score.ValueKind == JsonValueKind.Null);
        Assert.True(lone.TryGetProperty("error", out _) || unscored, lone.ToString());
        Assert.Contains(results[1].GetProperty("scores").EnumerateArray(), s => s.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task ATenantsRunningRuns_AreCapped_ThePastTheCapOneIsA429ThatStoresNothing()
    {
        using var client = await fixture.NewTenantAsync();
        var version = await EvaluationFixture.ImportAsync(client, "capped", [new { messages = new[] { new { role = "user", content = "x" } } }]);
        var run = new
        {
            dataset = "capped", datasetVersion = version, target = new { release = new { modelRoute = "hang" } }, evaluators = ExactHello, maxItemRetries = 5,
        };
        var running = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            running.Add(await EvaluationFixture.StartAsync(client, run));
        }

        try
        {
            using (var refused = await client.PostAsJsonAsync("/api/v1/evaluations/runs", run))
            {
                var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.Equal("too_many_running_runs", problem.GetProperty("code").GetString());
                Assert.Contains("10 evaluation runs running", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
                Assert.True(refused.Headers.RetryAfter is not null, "no Retry-After");
            }

            var listed = JsonDocument.Parse(await client.GetStringAsync("/api/v1/evaluations/runs")).RootElement.GetProperty("data");
            Assert.Equal(10, listed.GetArrayLength());

            // A run that ends frees its place.
            using (var cancel = await client.PostAsync($"/api/v1/evaluations/runs/{running[0]}/cancel", null))
            {
                Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            }

            running.Add(await EvaluationFixture.StartAsync(client, run));
        }
        finally
        {
            foreach (var id in running)
            {
                using var _ = await client.PostAsync($"/api/v1/evaluations/runs/{id}/cancel", null);
            }
        }
    }

    [Theory]
    [InlineData("""{"dataset":[]}""", "dataset", "dataset must be a string.")]
    [InlineData("""{"dataset":"d","concurrency":1e30}""", "concurrency", "concurrency must be an integer (within range).")]
    [InlineData("""{"dataset":"d","evaluators":[{"name":"c","kind":"contains","value":[]}]}""", "evaluators[0].value", "evaluators[0].value must be a string.")]
    [InlineData("""{"dataset":"d","evaluators":[{"name":"c","kind":"contains","ignoreCase":1}]}""", "evaluators[0].ignoreCase", "evaluators[0].ignoreCase must be true or false.")]
    [InlineData("""{"dataset":"d","target":{"release":{"modelRoute":{}}}}""", "target.release.modelRoute", "target.release.modelRoute must be a string.")]
    [InlineData("""{"name":"\ud800"}""", "name", "name must be valid Unicode text")]
    public async Task AFieldOfTheWrongKind_IsA400SayingWhatTheFieldTakes(string body, string field, string detail)
    {
        // Records bound through their constructor made System.Text.Json name the record, and the answer said "must be an object".
        using var client = await fixture.NewTenantAsync();
        using var response = await client.PostAsync("/api/v1/evaluations/runs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherTenant_CannotSeeARun()
    {
        using var owner = await fixture.NewTenantAsync();
        using var stranger = await fixture.NewTenantAsync();
        var version = await EvaluationFixture.ImportAsync(owner, "private", [new { messages = new[] { new { role = "user", content = "x" } } }]);
        var id = await EvaluationFixture.StartAsync(owner, new { dataset = "private", datasetVersion = version, target = new { release = new { modelRoute = "ok" } }, evaluators = ExactHello });
        await EvaluationFixture.FinishedAsync(owner, id);

        foreach (var path in new[] { $"/api/v1/evaluations/runs/{id}", $"/api/v1/evaluations/runs/{id}/results", $"/api/v1/evaluations/runs/{id}/results.jsonl" })
        {
            using var response = await stranger.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var cancel = await stranger.PostAsync($"/api/v1/evaluations/runs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        var list = JsonDocument.Parse(await stranger.GetStringAsync("/api/v1/evaluations/runs")).RootElement;
        Assert.Empty(list.GetProperty("data").EnumerateArray());
    }
}
