using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Hosting;

/// <summary>
/// Every request body the platform takes, with each field in turn replaced by a null, a value of every
/// other JSON kind, a deeply nested value and a long string: the answer is always a 4xx in the path's
/// error shape (problem details on <c>/api</c>, an OpenAI error object on <c>/v1</c>) or a success,
/// never a 500, and no error message names a .NET type or repeats an exception's text.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class HostileInputTests(PlatformFactory factory)
{
    private static readonly string[] Leaks = ["System.", "Platform.", "Exception", "   at ", "Microsoft."];

    /// <summary>Valid bodies, one per endpoint that takes one; {t} is a fresh tenant, {p} a prompt of it.</summary>
    public static TheoryData<string, string, string> Bodies => new()
    {
        { "POST", "/api/v1/tenants", """{"id":"x{r}","displayName":"X","allowDirectModelAccess":true}""" },
        { "PATCH", "/api/v1/tenants/{t}", """{"displayName":"Y","allowDirectModelAccess":false,"webhookUrl":"","webhookSecret":"s3cret"}""" },
        { "POST", "/api/v1/tenants/{t}/keys", """{"name":"k","role":"developer","expiresAt":"2099-01-01T00:00:00Z"}""" },
        {
            "PUT", "/api/v1/models/fuzz-{r}",
            """{"provider":"simulated","upstreamModel":"gpt-4o-mini","inputPricePerMillion":1,"outputPricePerMillion":2,"contextWindow":1000,"timeoutSeconds":5,"maxRetries":1,"fallbacks":["sim-small"],"mode":"chat","simulated":{}}"""
        },
        {
            "POST", "/api/v1/prompts/{p}/versions",
            """{"messages":[{"role":"system","template":"Hi {{ name }}"},{"role":"user","template":"{{ q }}"}],"variables":[{"name":"name","type":"string","required":true,"default":"a","description":"d"},{"name":"q","type":"string"}],"parameters":{"model":"sim-small","temperature":0.5,"maxTokens":20,"responseFormat":"text","tools":[]},"message":"m"}"""
        },
        { "POST", "/api/v1/prompts/{p}/render", """{"version":1,"variables":{"name":"n","q":"question"}}""" },
        { "PUT", "/api/v1/prompts/{p}/labels/staging", """{"version":1,"expectedFrom":null,"expectNew":true}""" },
        { "POST", "/api/v1/prompts/{p}/labels/staging/rollback", """{"expectedCurrent":1}""" },
        { "POST", "/api/v1/prompts/plan", """{"files":[{"path":"a.yaml","content":"name: a\nmessages:\n  - role: user\n    template: hi\n"}],"label":"staging"}""" },
        { "POST", "/api/v1/prompts/apply", """{"files":[{"path":"a.yaml","content":"name: a\nmessages:\n  - role: user\n    template: hi\n"}],"label":"staging"}""" },
        {
            "POST", "/api/v1/deployments",
            """{"name":"d{r}","stable":{"modelRoute":"sim-small","prompt":null,"temperature":0.2,"maxTokens":10},"policy":{"minSamplesPerArm":10,"steps":[10,50],"minDwellSeconds":1,"autoPromote":false}}"""
        },
        { "POST", "/api/v1/deployments/{d}/canary", """{"release":{"modelRoute":"sim-large"},"weight":10,"reason":"try"}""" },
        { "PUT", "/api/v1/deployments/{d}/canary/weight", """{"weight":20,"expectedRevision":null,"reason":"more"}""" },
        { "POST", "/api/v1/deployments/{d}/canary/rollback", """{"reason":"no","expectedRevision":null}""" },
        {
            "POST", "/api/v1/deployments",
            """{"name":"g{r}","stable":{"modelRoute":"sim-small"},"policy":{"autoPromote":false,"gate":{"dataset":"ds","thresholds":[{"evaluator":"c","minMean":0.5,"minPassRate":0.5}],"requireNoRegression":true,"beforeCanary":true,"beforePromotion":true}}}"""
        },
        { "POST", "/api/v1/deployments/{d}/canary/promote", """{"reason":"ship","expectedRevision":null,"gateOverride":"checked by hand"}""" },
        {
            "POST", "/api/v1/evaluations/runs",
            """{"dataset":"ds","datasetVersion":1,"target":{"release":{"modelRoute":"sim-small","temperature":0.2,"maxTokens":10}},"evaluators":[{"name":"c","kind":"contains","value":"a","ignoreCase":true,"threshold":0.5},{"name":"l","kind":"length","minLength":1,"maxLength":100},{"name":"s","kind":"json_schema","value":"{\"type\":\"object\"}"},{"name":"j","kind":"llm_judge","judgeRoute":"sim-small","judgePromptVersion":"1"}],"concurrency":2,"maxItemRetries":1,"name":"n"}"""
        },
        { "POST", "/api/v1/evaluations/runs", """{"dataset":"ds","target":{"deployment":"{d}","arm":"canary"},"evaluators":[{"name":"g","kind":"groundedness","useJudge":false}]}""" },
        {
            "POST", "/v1/chat/completions",
            """{"model":"sim-small","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"temperature":0.1,"max_tokens":5,"stop":["x"],"seed":1,"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],"tool_choice":"auto","response_format":{"type":"text"},"stream_options":{"include_usage":true},"user":"u","metadata":{"k":"v"}}"""
        },
        { "POST", "/v1/chat/completions", """{"model":"sim-small","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}""" },
        { "POST", "/v1/chat/completions", """{"prompt":{"name":"{p}","version":1,"variables":{"name":"n","q":"q"}},"model":"sim-small","messages":[]}""" },
        { "POST", "/v1/embeddings", """{"model":"sim-embed","input":["a","b"],"dimensions":8,"encoding_format":"float","user":"u"}""" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task EveryFieldReplacedByHostileValues_IsAnsweredWithoutServerErrorOrInternals(string method, string pathTemplate, string body)
    {
        var tenant = await factory.CreateTenantAsync();
        var (_, owner) = await factory.CreateKeyAsync(tenant, "owner");
        var prompt = "fuzz-" + Guid.NewGuid().ToString("N")[..8];
        var deployment = "dep-" + Guid.NewGuid().ToString("N")[..8];
        var admin = pathTemplate.StartsWith("/api/v1/tenants", StringComparison.Ordinal) || pathTemplate.StartsWith("/api/v1/models", StringComparison.Ordinal);
        using var client = admin ? factory.Admin() : factory.ClientWithKey(owner);
        await ArrangeAsync(client, tenant, prompt, deployment);

        string Fill(string s) => s.Replace("{t}", tenant, StringComparison.Ordinal).Replace("{p}", prompt, StringComparison.Ordinal)
            .Replace("{d}", deployment, StringComparison.Ordinal).Replace("{r}", Guid.NewGuid().ToString("N")[..8], StringComparison.Ordinal);

        var valid = JsonNode.Parse(Fill(body))!;
        var failures = new List<string>();
        foreach (var variant in Variants(valid))
        {
            var path = Fill(pathTemplate);
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(variant, Encoding.UTF8, "application/json") };
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var problem = Check(path, response, text);
            if (problem is not null)
            {
                failures.Add($"{method} {path} {Shorten(variant)} -> {(int)response.StatusCode}: {problem}: {Shorten(text)}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(15)));
    }

    [Theory]
    [InlineData("/api/v1/tenants/{t}/nothing-here", "GET", 404)]
    [InlineData("/api/v1/nothing", "POST", 404)]
    [InlineData("/api/v1/tenants/{t}", "DELETE", 405)]
    [InlineData("/api/v1/tenants", "PUT", 405)]
    [InlineData("/v1/nothing", "GET", 404)]
    [InlineData("/v1/chat/completions", "GET", 405)]
    public async Task UnknownPathsAndWrongMethods_AnswerInThePathsErrorShape(string pathTemplate, string method, int status)
    {
        var tenant = await factory.CreateTenantAsync();
        using var client = factory.Admin();
        var path = pathTemplate.Replace("{t}", tenant, StringComparison.Ordinal);

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Null(Check(path, response, text));
    }

    [Theory]
    [InlineData("/api/v1/tenants")]
    [InlineData("/v1/models")]
    public async Task AuthenticationFailuresAndTooLargeBodies_AnswerInThePathsErrorShape(string path)
    {
        using var anonymous = factory.ClientWithKey(null);
        using var missing = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Null(Check(path, missing, await missing.Content.ReadAsStringAsync()));

        using var admin = factory.Admin();
        var huge = new StringContent("{\"id\":\"" + new string('a', 5 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json");
        using var tooLarge = await admin.PostAsync(path, huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Null(Check(path, tooLarge, await tooLarge.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task NullMessage_IsA400NamingItsIndex()
    {
        using var client = factory.ClientWithKey(TestEnvironment.DemoKey);
        using var response = await client.PostAsync(
            "/v1/chat/completions",
            new StringContent("""{"model":"sim-small","messages":[{"role":"user","content":"hi"},{"role":"user","content":"again"},null]}""", Encoding.UTF8, "application/json"));
        var error = (await HttpJson.JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("messages[2]", error.GetProperty("param").GetString());
        Assert.Equal("messages[2] must be an object with a role", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WrongKindInAMessage_IsDescribedInTheCallersTerms()
    {
        using var client = factory.ClientWithKey(TestEnvironment.DemoKey);
        using var response = await client.PostAsync(
            "/v1/chat/completions",
            new StringContent("""{"model":"sim-small","messages":[{"role":"user","content":"hi"}, 7]}""", Encoding.UTF8, "application/json"));
        var error = (await HttpJson.JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("messages[1]", error.GetProperty("param").GetString());
        Assert.Equal("messages[1] must be an object.", error.GetProperty("message").GetString());
    }

    private static async Task ArrangeAsync(HttpClient client, string tenant, string prompt, string deployment)
    {
        _ = tenant;
        using var version = await client.PostAsync(
            $"/api/v1/prompts/{prompt}/versions",
            Json("""{"messages":[{"role":"system","template":"Hi {{ name }}"},{"role":"user","template":"{{ q }}"}],"variables":[{"name":"name","type":"string"},{"name":"q","type":"string"}]}"""));
        using var created = await client.PostAsync(
            "/api/v1/deployments",
            Json("""{"name":"DEP","stable":{"modelRoute":"sim-small"},"policy":{"autoPromote":false}}""".Replace("DEP", deployment, StringComparison.Ordinal)));
        using var canary = await client.PostAsync($"/api/v1/deployments/{deployment}/canary", Json("""{"release":{"modelRoute":"sim-large"},"weight":10}"""));
        using var dataset = await client.PostAsync(
            "/api/v1/datasets/ds/versions",
            new StringContent("""{"id":"a","messages":[{"role":"user","content":"hi"}],"expected":"x","context":"c"}""", Encoding.UTF8, "application/x-ndjson"));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Null if the answer is acceptable, else what is wrong with it.</summary>
    private static string? Check(string path, HttpResponseMessage response, string text)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return "server error";
        }

        if (status < 400)
        {
            return null;
        }

        if (Leaks.FirstOrDefault(l => text.Contains(l, StringComparison.Ordinal)) is { } leak)
        {
            return $"error text contains '{leak}'";
        }

        JsonElement json;
        try
        {
            json = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            return "error body is not JSON";
        }

        if (path.StartsWith("/v1", StringComparison.Ordinal))
        {
            return json.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var m) && m.GetString() is { Length: > 0 }
                && error.TryGetProperty("type", out _) && error.TryGetProperty("code", out _)
                ? null
                : "not an OpenAI error object";
        }

        return response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            && json.TryGetProperty("status", out var s) && s.GetInt32() == status
            && json.TryGetProperty("title", out _) && json.TryGetProperty("detail", out var d) && d.GetString() is { Length: > 0 }
            ? null
            : "not problem details";
    }

    private static string Shorten(string s) => s.Length > 300 ? s[..300] + "..." : s;

    /// <summary>The valid body with each node in turn replaced by each hostile value, plus an unknown field and odd bodies.</summary>
    private static IEnumerable<string> Variants(JsonNode valid)
    {
        yield return "null";
        yield return "[]";
        yield return "\"text\"";
        yield return "{";
        yield return "";
        yield return new string('[', 10_000) + new string(']', 10_000);
        foreach (var pointer in Pointers(valid, ""))
        {
            foreach (var hostile in Hostile())
            {
                var copy = valid.DeepClone();
                Replace(copy, pointer, hostile?.DeepClone());
                yield return copy.ToJsonString();
            }
        }
    }

    private static IEnumerable<JsonNode?> Hostile()
    {
        yield return null;
        yield return new JsonObject();
        yield return new JsonArray();
        yield return JsonValue.Create(-1.5e308);
        yield return JsonValue.Create(9223372036854775807L);
        yield return JsonValue.Create("");
        yield return JsonValue.Create(new string('x', 20_000));
        yield return JsonValue.Create(true);
        yield return new JsonArray((JsonNode?)null);
        yield return new JsonObject { ["a"] = null };
        JsonNode deep = new JsonArray();
        for (var i = 0; i < 60; i++)
        {
            deep = new JsonObject { ["a"] = deep };
        }

        yield return deep;
    }

    private static IEnumerable<string[]> Pointers(JsonNode node, string _)
    {
        var stack = new Stack<(JsonNode Node, string[] Path)>();
        stack.Push((node, []));
        while (stack.Count > 0)
        {
            var (current, path) = stack.Pop();
            switch (current)
            {
                case JsonObject o:
                    foreach (var (key, child) in o)
                    {
                        string[] next = [.. path, key];
                        yield return next;
                        if (child is not null)
                        {
                            stack.Push((child, next));
                        }
                    }

                    yield return [.. path, "unknownField"];
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        string[] next = [.. path, "#" + i];
                        yield return next;
                        if (a[i] is { } child)
                        {
                            stack.Push((child, next));
                        }
                    }

                    break;
            }
        }
    }

    private static void Replace(JsonNode root, string[] pointer, JsonNode? value)
    {
        var parent = root;
        foreach (var step in pointer[..^1])
        {
            parent = step.StartsWith('#') ? parent[int.Parse(step[1..])]! : parent[step]!;
        }

        var last = pointer[^1];
        if (last.StartsWith('#'))
        {
            parent.AsArray()[int.Parse(last[1..])] = value;
        }
        else
        {
            parent.AsObject()[last] = value;
        }
    }
}
