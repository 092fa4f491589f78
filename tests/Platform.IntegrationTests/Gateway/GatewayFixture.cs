using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Gateway;

/// <summary>The host with model routes that point at a fake OpenAI-compatible server on loopback.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public FakeOpenAiServer Upstream { get; } = new();

    public PlatformFactory Host { get; } = new();

    /// <summary>Upstream model name of the route <c>flaky</c>: 429 on its first call only.</summary>
    public string FlakyUpstream { get; } = "flaky-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        var i = 10;
        void Route(string name, string provider, string upstream, int retries = 2, double timeout = 5, string? fallback = null, string? price = null, string mode = "chat", int? window = null, string? endpoint = null)
        {
            var at = $"Platform:Models:{i++}:";
            Host.Settings[at + "Mode"] = mode;
            Host.Settings[at + "Name"] = name;
            Host.Settings[at + "Provider"] = provider;
            Host.Settings[at + "UpstreamModel"] = upstream;
            Host.Settings[at + "Endpoint"] = endpoint ?? (provider == "azure-openai" ? Upstream.BaseUrl : Upstream.BaseUrl + "/v1");
            Host.Settings[at + "CredentialEnvironmentVariable"] = "PLATFORM_TEST_UPSTREAM_KEY";
            Host.Settings[at + "MaxRetries"] = retries.ToString();
            Host.Settings[at + "RetryBaseDelayMilliseconds"] = "10";
            Host.Settings[at + "TimeoutSeconds"] = timeout.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Host.Settings[at + "InputPricePerMillion"] = price ?? "1";
            Host.Settings[at + "OutputPricePerMillion"] = price ?? "2";
            if (fallback is not null)
            {
                Host.Settings[at + "Fallbacks:0"] = fallback;
            }

            if (window is not null)
            {
                Host.Settings[at + "ContextWindow"] = window.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Environment.SetEnvironmentVariable("PLATFORM_TEST_UPSTREAM_KEY", "sk-upstream-secret-never-logged");
        Route("ok", "openai", "ok");
        Route("no-usage", "openai", "no-usage");
        Route("params", "openai", "params");
        Route("flaky", "openai", FlakyUpstream);
        Route("broken", "openai", "error-500");
        Route("broken-with-fallback", "openai", "error-500", retries: 0, fallback: "sim-small");
        Route("hang", "openai", "hang", retries: 0, timeout: 1);
        Route("garbage", "openai", "garbage", retries: 0);
        Route("cut", "openai", "cut", retries: 0);
        Route("unreachable", "openai", "ok", retries: 1, endpoint: "http://127.0.0.1:9/v1"); // nothing listens on the discard port
        Route("azure", "azure-openai", "azure-deployment");
        Route("tools", "openai", "tools");
        Route("azure-tools", "azure-openai", "tools");
        Route("thinking", "openai", "thinking", retries: 0, timeout: 2);
        Route("stalling", "openai", "stalling", retries: 0, timeout: 1);
        Route("small-window", "openai", "small-window", window: 60, fallback: "wide-window");
        Route("wide-window", "openai", "wide-window", window: 100_000);
        Route("small-only", "openai", "small-only", window: 60);
        Route("limited", "openai", "limited", retries: 2, fallback: "ok");
        Route("limited-huge", "openai", "limited-huge", retries: 2, fallback: "ok");
        Route("limited-alone", "openai", "limited", retries: 2);
        Route("short-context", "openai", "context-400", retries: 2, fallback: "ok");
        Route("short-context-alone", "openai", "context-400", retries: 2);
        Route("stream-refusal", "openai", "stream-refusal", retries: 2);
        Route("rejecting", "openai", "reject-400");
        Route("misconfigured", "openai", "unauthorized-401");
        Route("embed", "openai", "text-embedding-3-small", mode: "embedding", price: "0.02");

        // A compromised or buggy provider (FakeOpenAiServer.Hostile.cs): each route is its upstream model's name, without retries.
        foreach (var hostile in new[]
        {
            "escapes", "flood", "invalid-utf8", "lone-surrogate", "raw-control", "error-after-text", "json-for-stream", "huge-event", "endless",
            "truncated", "gzip", "huge-body", "huge-error", "redirect",
        })
        {
            Route(hostile, "openai", hostile, retries: 0);
        }

        Route("cr-only", "openai", "cr-only", retries: 0, timeout: 1);

        // Budget tests: input free and output at $1,000 per million tokens, so a request's worst case (max_tokens of output)
        // equals its real cost when max_tokens is what the fake server answers with (5 tokens, 4 when streamed).
        Route("budget-ok", "openai", "ok", retries: 0);
        Route("budget-broken", "openai", "error-500", retries: 0);
        Route("budget-fallback", "openai", "error-500", retries: 0, fallback: "budget-ok");
        Route("budget-hang", "openai", "hang", retries: 0, timeout: 0.3);
        foreach (var name in new[] { "budget-ok", "budget-broken", "budget-fallback", "budget-hang" })
        {
            var at = Host.Settings.First(kv => kv.Value == name && kv.Key.EndsWith(":Name", StringComparison.Ordinal)).Key[..^"Name".Length];
            Host.Settings[at + "InputPricePerMillion"] = "0";
            Host.Settings[at + "OutputPricePerMillion"] = "1000";
        }
        _ = Host.Server;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>The official OpenAI .NET SDK pointed at the gateway, over the test server's in-memory transport.</summary>
    public OpenAIClient OpenAiClient(string key) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(Host.Server.BaseAddress, "/v1"),
        Transport = new HttpClientPipelineTransport(Host.CreateClient()),
        RetryPolicy = new ClientRetryPolicy(0),
    });
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
