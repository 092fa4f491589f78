using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Prompts;

[Collection(PlatformCollection.Name)]
public sealed class PromptsApiTests(PlatformFactory factory)
{

    private static object Version(string system, string message = "change") => new
    {
        messages = new object[]
        {
            new { role = "system", template = system },
            new { role = "user", template = "Answer {{ question }}{% if polite %} politely{% endif %}." },
        },
        variables = new object[]
        {
            new { name = "question", type = "string", required = true },
            new { name = "polite", type = "boolean", required = false, @default = true },
        },
        parameters = new { model = "sim-small", temperature = 0.1 },
        message,
    };

    /// <summary>A tenant with one key per role: (tenant, owner, developer, operator, viewer, client).</summary>
    private async Task<(string Tenant, Dictionary<string, HttpClient> As)> NewTenantAsync()
    {
        var tenant = await factory.CreateTenantAsync();
        var clients = new Dictionary<string, HttpClient>();
        foreach (var role in new[] { "owner", "developer", "operator", "viewer", "client" })
        {
            clients[role] = factory.ClientWithKey((await factory.CreateKeyAsync(tenant, role)).Secret);
        }

        return (tenant, clients);
    }

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient client, object prompt) =>
        await client.PostAsJsonAsync("/v1/chat/completions", new { prompt, messages = new[] { new { role = "user", content = "and more" } } });

    [Fact]
    public async Task ProductionLabel_ServesItsVersion_AndRollbackServesThePreviousOne()
    {
        var (_, As) = await NewTenantAsync();
        Assert.Equal(HttpStatusCode.Created, (await As["developer"].PostAsJsonAsync("/api/v1/prompts/support/versions", Version("You are v1."))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await As["developer"].PostAsJsonAsync("/api/v1/prompts/support/versions", Version("You are v2."))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As["operator"].PutAsJsonAsync("/api/v1/prompts/support/labels/production", new { version = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As["operator"].PutAsJsonAsync("/api/v1/prompts/support/labels/production", new { version = 2 })).StatusCode);

        var reference = new { name = "support", label = "production", variables = new { question = "why" } };
        using var v2 = await ChatAsync(As["client"], reference);
        Assert.Equal(HttpStatusCode.OK, v2.StatusCode);
        Assert.Equal("support@2", v2.Headers.GetValues("x-platform-prompt").Single());
        Assert.Equal("sim-small", v2.Headers.GetValues("x-platform-route").Single());

        using var rollback = await As["operator"].PostAsync("/api/v1/prompts/support/labels/production/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.Equal(1, (await JsonAsync(rollback)).GetProperty("to").GetInt32());

        using var v1 = await ChatAsync(As["client"], reference);
        Assert.Equal("support@1", v1.Headers.GetValues("x-platform-prompt").Single());
    }

    [Fact]
    public async Task IdenticalContent_ReturnsTheExistingVersion_AndVersionsCountUp()
    {
        var (_, As) = await NewTenantAsync();
        using var first = await As["developer"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("A"));
        using var same = await As["developer"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("A", message: "different message, same content"));
        using var second = await As["owner"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("B"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(1, (await JsonAsync(same)).GetProperty("version").GetInt32());
        Assert.Equal(2, (await JsonAsync(second)).GetProperty("version").GetInt32());
        var summary = await JsonAsync(await As["viewer"].GetAsync("/api/v1/prompts/p"));
        Assert.Equal(2, summary.GetProperty("versions").GetArrayLength());
        Assert.StartsWith("sha256:", summary.GetProperty("versions")[0].GetProperty("contentHash").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelMoves_NeedExistingVersions_ProtectedLabelsNeedOperator_AndConcurrentMovesConflict()
    {
        var (_, As) = await NewTenantAsync();
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("A"));
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("B"));
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/p/versions", Version("C"));

        Assert.Equal(HttpStatusCode.NotFound, (await As["developer"].PutAsJsonAsync("/api/v1/prompts/p/labels/staging", new { version = 9 })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As["developer"].PutAsJsonAsync("/api/v1/prompts/p/labels/production", new { version = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await As["viewer"].PutAsJsonAsync("/api/v1/prompts/p/labels/staging", new { version = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As["developer"].PutAsJsonAsync("/api/v1/prompts/p/labels/staging", new { version = 1, expectNew = true })).StatusCode);

        var moves = await Task.WhenAll(
            As["developer"].PutAsJsonAsync("/api/v1/prompts/p/labels/staging", new { version = 2, expectedFrom = 1 }),
            As["owner"].PutAsJsonAsync("/api/v1/prompts/p/labels/staging", new { version = 3, expectedFrom = 1 }));

        Assert.Single(moves, m => m.StatusCode == HttpStatusCode.OK);
        Assert.Single(moves, m => m.StatusCode == HttpStatusCode.Conflict);
        var winner = moves[0].StatusCode == HttpStatusCode.OK ? 2 : 3;
        var labels = (await JsonAsync(await As["viewer"].GetAsync("/api/v1/prompts/p"))).GetProperty("labels");
        Assert.Equal(winner, labels.GetProperty("staging").GetInt32());
    }

    [Fact]
    public async Task Diff_ShowsMessagesLineByLine_AndParametersFieldByField()
    {
        var (_, As) = await NewTenantAsync();
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/d/versions", Version("Line one\nLine two"));
        var changed = new
        {
            messages = new object[] { new { role = "system", template = "Line one\nLine 2" }, new { role = "user", template = "Answer {{ question }}{% if polite %} politely{% endif %}." } },
            variables = new object[] { new { name = "question", type = "string", required = true }, new { name = "polite", type = "boolean", required = false, @default = true } },
            parameters = new { model = "sim-large", temperature = 0.1 },
        };
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/d/versions", changed);

        var json = await JsonAsync(await As["viewer"].GetAsync("/api/v1/prompts/d/diff?from=1&to=2"));
        var unified = await (await As["viewer"].GetAsync("/api/v1/prompts/d/diff?from=1&to=2&format=unified")).Content.ReadAsStringAsync();

        var lines = json.GetProperty("messages")[0].GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("kind").GetString() + l.GetProperty("text").GetString()).ToList();
        Assert.Equal([" Line one", "-Line two", "+Line 2"], lines);
        var parameter = Assert.Single(json.GetProperty("parameters").EnumerateArray());
        Assert.Equal("model", parameter.GetProperty("field").GetString());
        Assert.Contains("--- d@1", unified, StringComparison.Ordinal);
        Assert.Contains("-Line two\n+Line 2", unified, StringComparison.Ordinal);
        Assert.Contains("-sim-small\n+sim-large", unified, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TemplateSyntaxError_IsRefusedWithLineAndColumn()
    {
        var (_, As) = await NewTenantAsync();
        using var response = await As["developer"].PostAsJsonAsync("/api/v1/prompts/bad/versions", new
        {
            messages = new[] { new { role = "system", template = "ok\n{% if x %}unclosed" } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonAsync(response);
        Assert.Equal("messages[0].template", problem.GetProperty("field").GetString());
        Assert.Matches(@"\(\d+:\d+\)", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await As["viewer"].GetAsync("/api/v1/prompts/bad")).StatusCode);
    }

    [Fact]
    public async Task TemplateBombs_AreA400_AtCreationOrInsideTheRender_AndTheSiloKeepsServing()
    {
        var (_, As) = await NewTenantAsync();

        // Three thousand nested blocks once overflowed the parser's stack and took the silo down.
        var deep = string.Concat(Enumerable.Repeat("{% if true %}", 3000)) + string.Concat(Enumerable.Repeat("{% endif %}", 3000));
        using var nested = await As["developer"].PostAsJsonAsync("/api/v1/prompts/bomb/versions", new
        {
            messages = new[] { new { role = "system", template = deep } },
        });
        using var chain = await As["developer"].PostAsJsonAsync("/api/v1/prompts/bomb/versions", new
        {
            messages = new[] { new { role = "system", template = "{{ 'a'" + string.Concat(Enumerable.Repeat(" | append: 'a'", 1500)) + " }}" } },
        });
        using var range = await As["developer"].PostAsJsonAsync("/api/v1/prompts/bomb/versions", new
        {
            messages = new[] { new { role = "system", template = "{% assign r = (1..20000000) %}{{ r | size }}" } },
        });

        foreach (var refused in new[] { nested, chain, range })
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("messages[0].template", (await JsonAsync(refused)).GetProperty("field").GetString());
        }

        // A range sized by a variable can only be stopped inside the render: a 400 on /render and on /v1, never a 500.
        using var saved = await As["developer"].PostAsJsonAsync("/api/v1/prompts/bomb/versions", new
        {
            messages = new[] { new { role = "system", template = "{% assign r = (1..n) %}{{ r | size }}" } },
            variables = new[] { new { name = "n", type = "integer", required = true } },
            parameters = new { model = "sim-small" },
        });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);

        using var render = await As["viewer"].PostAsJsonAsync("/api/v1/prompts/bomb/render", new { version = 1, variables = new { n = 20_000_000 } });
        using var chat = await ChatAsync(As["client"], new { name = "bomb", version = 1, variables = new { n = 20_000_000 } });
        using var ok = await As["viewer"].PostAsJsonAsync("/api/v1/prompts/bomb/render", new { version = 1, variables = new { n = 3 } });

        Assert.Equal(HttpStatusCode.BadRequest, render.StatusCode);
        Assert.Equal("messages[0]", (await JsonAsync(render)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
        Assert.Equal("3", (await JsonAsync(ok)).GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task MissingOrMistypedVariable_IsA400NamingIt_OnRenderAndOnChat()
    {
        var (_, As) = await NewTenantAsync();
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/v/versions", Version("S"));

        using var render = await As["viewer"].PostAsJsonAsync("/api/v1/prompts/v/render", new { variables = new { } });
        using var chat = await ChatAsync(As["client"], new { name = "v", variables = new { question = 42 } });
        using var ok = await As["viewer"].PostAsJsonAsync("/api/v1/prompts/v/render", new { version = 1, variables = new { question = "why", polite = false } });

        Assert.Equal(HttpStatusCode.BadRequest, render.StatusCode);
        Assert.Equal("variables.question", (await JsonAsync(render)).GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
        Assert.Equal("variables.question", (await JsonAsync(chat)).GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("Answer why.", (await JsonAsync(ok)).GetProperty("messages")[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task UnknownPromptOrLabel_OnChat_Is404()
    {
        var (_, As) = await NewTenantAsync();
        await As["developer"].PostAsJsonAsync("/api/v1/prompts/x/versions", Version("S"));

        using var noPrompt = await ChatAsync(As["client"], new { name = "nothing-here" });
        using var noLabel = await ChatAsync(As["client"], new { name = "x", label = "canary", variables = new { question = "q" } });

        Assert.Equal(HttpStatusCode.NotFound, noPrompt.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noLabel.StatusCode);
    }

    [Fact]
    public async Task PromptsOfAnotherTenant_AreInvisible()
    {
        var (_, a) = await NewTenantAsync();
        var (_, b) = await NewTenantAsync();
        await a["developer"].PostAsJsonAsync("/api/v1/prompts/secret/versions", Version("A"));

        Assert.Equal(HttpStatusCode.NotFound, (await b["viewer"].GetAsync("/api/v1/prompts/secret")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ChatAsync(b["client"], new { name = "secret", variables = new { question = "q" } })).StatusCode);
        Assert.Empty((await JsonAsync(await b["viewer"].GetAsync("/api/v1/prompts"))).GetProperty("prompts").EnumerateArray());
    }

    [Fact]
    public async Task PromptsAsCode_PlanShowsTheDiff_ApplyCreatesExactlyThat_AndASecondApplyChangesNothing()
    {
        var (tenant, As) = await NewTenantAsync();
        const string Greeting = "name: greeting\nmessage: first\nmessages:\n  - role: system\n    template: \"Hello {{ who }}\"\nvariables:\n  - { name: who, type: string, required: true }\nparameters: { model: sim-small }\n";
        const string Farewell = "messages:\n  - role: system\n    template: Bye\n";
        var files = new { files = new[] { new { path = "prompts/greeting.yaml", content = Greeting }, new { path = "prompts/farewell.yaml", content = Farewell } }, label = "staging" };

        var plan = await JsonAsync(await As["developer"].PostAsJsonAsync("/api/v1/prompts/plan", files));
        Assert.All(plan.GetProperty("prompts").EnumerateArray(), p => Assert.Equal("create", p.GetProperty("action").GetString()));
        Assert.Contains("+Hello {{ who }}", plan.GetProperty("prompts")[0].GetProperty("diff").GetString(), StringComparison.Ordinal);

        var first = await JsonAsync(await As["developer"].PostAsJsonAsync("/api/v1/prompts/apply", files));
        Assert.Equal(2, first.GetProperty("labelMoves").GetArrayLength());
        var second = await JsonAsync(await As["developer"].PostAsJsonAsync("/api/v1/prompts/apply", files));
        Assert.All(second.GetProperty("prompts").EnumerateArray(), p => Assert.Equal("unchanged", p.GetProperty("action").GetString()));
        Assert.Equal(0, second.GetProperty("labelMoves").GetArrayLength());

        var listed = (await JsonAsync(await As["viewer"].GetAsync("/api/v1/prompts"))).GetProperty("prompts").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Equal(["farewell", "greeting"], listed);
        var audit = await JsonAsync(await factory.Admin().GetAsync($"/api/v1/tenants/{tenant}/audit?limit=500"));
        var actions = audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(2, actions.Count(a => a == "prompt.version.create"));
        Assert.Equal(2, actions.Count(a => a == "prompt.label.move"));
    }

    [Fact]
    public async Task InvalidYaml_NamesTheFileAndLine()
    {
        var (_, As) = await NewTenantAsync();
        var files = new { files = new[] { new { path = "prompts/broken.yaml", content = "messages:\n  - role: system\n    template: [unclosed\n" } } };

        using var response = await As["developer"].PostAsJsonAsync("/api/v1/prompts/plan", files);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await JsonAsync(response)).GetProperty("detail").GetString();
        Assert.Contains("prompts/broken.yaml", detail, StringComparison.Ordinal);
        Assert.Contains("line", detail, StringComparison.Ordinal);
    }
}
