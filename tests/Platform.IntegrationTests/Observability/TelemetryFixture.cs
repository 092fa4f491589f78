using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Observability;

/// <summary>
/// A real silo process exporting over OTLP (<c>http/protobuf</c>, configured only by the standard <c>OTEL_*</c> environment
/// variables) to a receiver on loopback, with <c>/metrics</c> on, and model routes on a fake OpenAI server.
/// </summary>
public sealed class TelemetryFixture : IAsyncLifetime
{
    public FakeOpenAiServer Upstream { get; } = new();

    public OtlpReceiver Receiver { get; private set; } = null!;

    public SiloProcess Silo { get; private set; } = null!;

    private string _dataDirectory = "";

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        Receiver = await OtlpReceiver.StartAsync();
        _dataDirectory = TestEnvironment.NewTempDirectory("platform-otel");
        var settings = SiloProcess.EmbeddedSettings(_dataDirectory);
        settings["Platform:Telemetry:Prometheus"] = "true";
        settings["Platform:Telemetry:CaptureContent"] = "true"; // on spans only for tenants whose policy stores content
        settings["Platform:Telemetry:HttpTracing"] = "true"; // ASP.NET Core's and HttpClient's spans too (opt-in)
        var i = 0;
        void Route(string name, string upstream, string? fallback = null, string mode = "chat")
        {
            var at = $"Platform:Models:{i++}:";
            settings[at + "Name"] = name;
            settings[at + "Mode"] = mode;
            settings[at + "Provider"] = "openai";
            settings[at + "UpstreamModel"] = upstream;
            settings[at + "Endpoint"] = Upstream.BaseUrl + "/v1";
            settings[at + "CredentialEnvironmentVariable"] = "PLATFORM_TEST_UPSTREAM_KEY";
            settings[at + "MaxRetries"] = "0";
            settings[at + "InputPricePerMillion"] = "1";
            settings[at + "OutputPricePerMillion"] = "2";
            if (fallback is not null)
            {
                settings[at + "Fallbacks:0"] = fallback;
            }
        }

        Route("ok", "ok");
        Route("broken-then-ok", "error-500", fallback: "ok");
        Route("embed", "text-embedding-3-small", mode: "embedding");
        Route("embed-metrics", "text-embedding-3-small", mode: "embedding");
        Silo = SiloProcess.Start(settings, environment: new Dictionary<string, string>
        {
            ["PLATFORM_TEST_UPSTREAM_KEY"] = "sk-upstream-test",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
        });
        await Silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await Receiver.DisposeAsync();
        await Upstream.DisposeAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryFixture>
{
    public const string Name = "telemetry";
}
