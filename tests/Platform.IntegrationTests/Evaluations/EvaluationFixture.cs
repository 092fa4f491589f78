using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Evaluations;

/// <summary>
/// The real host with chat routes on a fake OpenAI server: <c>ok</c> answers "Hello from ok", <c>other</c> "Hello from other",
/// <c>hang</c> answers nothing for 30 s.
/// </summary>
public sealed class EvaluationFixture : IAsyncLifetime
{
    public FakeOpenAiServer Upstream { get; } = new();

    public PlatformFactory Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        Host = new PlatformFactory();
        Routes(Host.Settings, Upstream, "ok", "other", "judge", "judge-json", "echo", "hang");
    }

    /// <summary>Adds one priced chat route per name, each calling the fake server's model of the same name.</summary>
    public static void Routes(IDictionary<string, string> settings, FakeOpenAiServer upstream, params string[] names)
    {
        for (var i = 0; i < names.Length; i++)
        {
            // Past the default catalog's routes, whose other settings (mode, simulation) must not leak into these.
            var at = $"Platform:Models:{20 + i}:";
            settings[at + "Name"] = names[i];
            settings[at + "Mode"] = "chat";
            settings[at + "Provider"] = "openai";
            settings[at + "UpstreamModel"] = names[i];
            settings[at + "Endpoint"] = upstream.BaseUrl + "/v1";
            settings[at + "MaxRetries"] = "0";
            settings[at + "InputPricePerMillion"] = "1";
            settings[at + "OutputPricePerMillion"] = "2";
        }
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>A new tenant and its owner's client.</summary>
    public async Task<HttpClient> NewTenantAsync()
    {
        var id = await Host.CreateTenantAsync();
        var (_, owner) = await Host.CreateKeyAsync(id, "owner");
        return Host.ClientWithKey(owner);
    }

    /// <summary>Imports JSON lines as a new version of a dataset and returns its version number.</summary>
    public static async Task<int> ImportAsync(HttpClient client, string dataset, IEnumerable<object> items)
    {
        var body = string.Join("\n", items.Select(i => JsonSerializer.Serialize(i)));
        using var content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");
        using var response = await client.PostAsync($"/api/v1/datasets/{dataset}/versions", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("version").GetProperty("version").GetInt32();
    }

    /// <summary>Starts a run and returns its id (202 expected).</summary>
    public static async Task<string> StartAsync(HttpClient client, object run)
    {
        using var response = await client.PostAsJsonAsync("/api/v1/evaluations/runs", run);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Polls the run until its status is no longer running, and returns it.</summary>
    public static async Task<JsonElement> FinishedAsync(HttpClient client, string id, TimeSpan? timeout = null)
    {
        var run = await Poll.UntilAsync(
            async () => JsonDocument.Parse(await client.GetStringAsync($"/api/v1/evaluations/runs/{id}")).RootElement.Clone(),
            r => r.GetProperty("status").GetString() is not ("Running" or "running" or "Pending" or "pending"),
            timeout ?? TimeSpan.FromSeconds(60));
        return run;
    }
}

[CollectionDefinition(Name)]
public sealed class EvaluationCollection : ICollectionFixture<EvaluationFixture>
{
    public const string Name = "evaluations";
}
