using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>One real silo process (embedded profile) shared by the dataset API tests; each test makes its own tenants.</summary>
public sealed class DatasetsSiloFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = TestEnvironment.NewTempDirectory("platform-datasets");

    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Silo = SiloProcess.Start(SiloProcess.EmbeddedSettings(_dataDirectory));
        await Silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A new tenant and one key per role: owner, developer, operator, viewer.</summary>
    public async Task<Dictionary<string, string>> NewTenantAsync()
    {
        var tenant = "t" + Guid.NewGuid().ToString("N")[..10];
        using var create = await Silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = tenant, displayName = tenant })));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var keys = new Dictionary<string, string>();
        foreach (var role in new[] { "owner", "developer", "operator", "viewer" })
        {
            using var key = await Silo.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, $"/api/v1/tenants/{tenant}/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = role, role })));
            Assert.Equal(HttpStatusCode.Created, key.StatusCode);
            keys[role] = (await JsonAsync(key)).GetProperty("secret").GetString()!;
        }

        return keys;
    }
}

public sealed class DatasetsApiTests(DatasetsSiloFixture fixture) : IClassFixture<DatasetsSiloFixture>
{
    private HttpClient Http => fixture.Silo.Http;

    private static StringContent Body(string text, string contentType) => new(text, Encoding.UTF8, contentType);

    private Task<HttpResponseMessage> ImportAsync(string key, string name, string text, string contentType = "application/x-ndjson", string query = "") =>
        Http.SendAsync(SiloProcess.Request(HttpMethod.Post, $"/api/v1/datasets/{name}/versions{query}", key, Body(text, contentType)));

    private Task<HttpResponseMessage> GetAsync(string key, string path) => Http.SendAsync(SiloProcess.Request(HttpMethod.Get, path, key));

    private const string ThreeItems =
        """
        {"id":"q1","input":{"question":"What is 2+2?"},"expected":"4","tags":["math"],"split":"test"}
        {"id":"q2","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}],"expected":"Paris"}
        {"input":{"question":"Colour of the sky?"},"expected":"blue","context":"The sky is blue on a clear day."}

        """;

    [Fact]
    public async Task JsonlImport_CreatesVersion1_ListedAndReadableByAViewer_AndItemsPage()
    {
        var keys = await fixture.NewTenantAsync();

        using var created = await ImportAsync(keys["developer"], "qa", ThreeItems);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/v1/datasets/qa/versions/1", created.Headers.Location!.ToString());
        var version = (await JsonAsync(created)).GetProperty("version");
        Assert.Equal(1, version.GetProperty("version").GetInt32());
        Assert.Equal(3, version.GetProperty("itemCount").GetInt32());
        Assert.Equal("jsonl", version.GetProperty("format").GetString());

        var list = await JsonAsync(await GetAsync(keys["viewer"], "/api/v1/datasets"));
        var entry = Assert.Single(list.GetProperty("datasets").EnumerateArray());
        Assert.Equal("qa", entry.GetProperty("name").GetString());
        Assert.Equal(1, entry.GetProperty("latest").GetProperty("version").GetInt32());

        var page = await JsonAsync(await GetAsync(keys["viewer"], "/api/v1/datasets/qa/versions/latest/items?offset=1&limit=5"));
        var items = page.GetProperty("items");
        Assert.Equal(["q2", "item-3"], items.EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("Be brief.", items[0].GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(3, page.GetProperty("total").GetInt32());
        Assert.False(page.TryGetProperty("nextOffset", out _));
    }

    [Fact]
    public async Task CsvImport_KeepsQuotedCommasAndNewlines_AndIsANewVersionOfTheSameDataset()
    {
        var keys = await fixture.NewTenantAsync();
        using var first = await ImportAsync(keys["operator"], "support", ThreeItems);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var csv = await ImportAsync(
            keys["owner"], "support", "id,question,expected,tags\r\nc1,\"Hello, \"\"world\"\"\",\"line 1\nline 2\",a;b\r\nc2,Bye,,\r\n", "text/csv");

        Assert.Equal(HttpStatusCode.Created, csv.StatusCode);
        Assert.Equal(2, (await JsonAsync(csv)).GetProperty("version").GetProperty("version").GetInt32());
        var items = (await JsonAsync(await GetAsync(keys["viewer"], "/api/v1/datasets/support/versions/2/items"))).GetProperty("items");
        Assert.Equal("Hello, \"world\"", items[0].GetProperty("input").GetProperty("question").GetString());
        Assert.Equal("line 1\nline 2", items[0].GetProperty("expected").GetString());
        Assert.Equal(["a", "b"], items[0].GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var versions = (await JsonAsync(await GetAsync(keys["viewer"], "/api/v1/datasets/support"))).GetProperty("versions");
        Assert.Equal(["jsonl", "csv"], versions.EnumerateArray().Select(v => v.GetProperty("format").GetString()));
    }

    [Fact]
    public async Task BadLine3_Is400ProblemNamingLine3_AndNothingIsImported_UnlessSkipInvalid()
    {
        var keys = await fixture.NewTenantAsync();
        const string text = "{\"input\":{\"q\":\"a\"}}\n{\"input\":{\"q\":\"b\"}}\n{\"input\":{\"q\": oops}\n{\"input\":{\"q\":\"d\"}}\n";

        using var refused = await ImportAsync(keys["developer"], "flaky", text);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
        var problem = await JsonAsync(refused);
        Assert.Equal("invalid_dataset", problem.GetProperty("code").GetString());
        Assert.Contains("line 3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, Assert.Single(problem.GetProperty("errors").EnumerateArray()).GetProperty("line").GetInt32());
        Assert.True(problem.TryGetProperty("requestId", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(keys["viewer"], "/api/v1/datasets/flaky")).StatusCode);

        using var skipped = await ImportAsync(keys["developer"], "flaky", text, query: "?skipInvalid=true");

        Assert.Equal(HttpStatusCode.Created, skipped.StatusCode);
        var body = await JsonAsync(skipped);
        Assert.Equal(1, body.GetProperty("skippedCount").GetInt32());
        Assert.Equal(3, body.GetProperty("skipped")[0].GetProperty("line").GetInt32());
        Assert.Equal(3, body.GetProperty("version").GetProperty("itemCount").GetInt32());
        Assert.Equal(1, body.GetProperty("version").GetProperty("skippedLines").GetInt32());
    }

    [Fact]
    public async Task UnsupportedContentType_Is415NamingTheAcceptedOnes()
    {
        var keys = await fixture.NewTenantAsync();

        using var response = await ImportAsync(keys["developer"], "x", ThreeItems, "application/json");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var detail = (await JsonAsync(response)).GetProperty("detail").GetString();
        foreach (var accepted in new[] { "application/x-ndjson", "application/jsonl", "application/json-lines", "text/csv" })
        {
            Assert.Contains(accepted, detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Export_RoundTripsTheImport_AcrossManyPages_AndBodiesOver1MBAreAccepted()
    {
        var keys = await fixture.NewTenantAsync();
        var text = new StringBuilder();
        for (var i = 0; i < 1_500; i++)
        {
            text.Append(JsonSerializer.Serialize(new { id = $"r{i}", input = new { q = $"question {i} " + new string('x', 1500) }, expected = $"{i}" })).Append('\n');
        }

        Assert.True(text.Length > 2 * 1024 * 1024);
        using var created = await ImportAsync(keys["developer"], "round", text.ToString());
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var original = (await JsonAsync(created)).GetProperty("version");
        Assert.True(original.GetProperty("pageCount").GetInt32() > 1);

        using var export = await GetAsync(keys["viewer"], "/api/v1/datasets/round/versions/1/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("application/x-ndjson", export.Content.Headers.ContentType!.MediaType);
        var exported = await export.Content.ReadAsStringAsync();
        Assert.Equal(1_500, exported.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        using var again = await ImportAsync(keys["developer"], "round", exported, "application/jsonl");
        var copy = (await JsonAsync(again)).GetProperty("version");
        Assert.Equal(2, copy.GetProperty("version").GetInt32());
        Assert.Equal(original.GetProperty("contentHash").GetString(), copy.GetProperty("contentHash").GetString());
        using var exportedAgain = await GetAsync(keys["viewer"], "/api/v1/datasets/round/versions/2/export");
        Assert.Equal(exported, await exportedAgain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnotherTenant_Gets404_AndAViewerCannotImport()
    {
        var mine = await fixture.NewTenantAsync();
        var theirs = await fixture.NewTenantAsync();
        using var created = await ImportAsync(mine["developer"], "private", ThreeItems);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        foreach (var path in new[] { "/api/v1/datasets/private", "/api/v1/datasets/private/versions/1", "/api/v1/datasets/private/versions/1/items",
            "/api/v1/datasets/private/versions/latest/export" })
        {
            using var response = await GetAsync(theirs["owner"], path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Empty((await JsonAsync(await GetAsync(theirs["owner"], "/api/v1/datasets"))).GetProperty("datasets").EnumerateArray());

        using var viewer = await ImportAsync(mine["viewer"], "private", ThreeItems);
        Assert.Equal(HttpStatusCode.Forbidden, viewer.StatusCode);
        Assert.Equal(1, (await JsonAsync(await GetAsync(mine["viewer"], "/api/v1/datasets/private"))).GetProperty("versions").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/v1/datasets/qa/versions/1/items?limit=1001", "limit")]
    [InlineData("/api/v1/datasets/qa/versions/1/items?offset=-1", "offset")]
    [InlineData("/api/v1/datasets/qa/versions/first/items", "version")]
    public async Task BadParameters_Are400NamingTheParameter(string path, string field)
    {
        var keys = await fixture.NewTenantAsync();
        using var created = await ImportAsync(keys["developer"], "qa", ThreeItems);

        using var response = await GetAsync(keys["viewer"], path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await JsonAsync(response)).GetProperty("field").GetString());
    }
}
