using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Observability;

/// <summary>Which signals leave the process, by which OTLP variables are set.</summary>
public sealed class OtlpSignalTests
{
    [Fact]
    public async Task OnlyTheTracesEndpoint_ExportsTraces_AndNoMetrics_AndNoMetricsEndpointIsMapped()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var upstream = new FakeOpenAiServer();
        await upstream.InitializeAsync();
        var dataDirectory = TestEnvironment.NewTempDirectory("platform-otel-traces");
        var settings = SiloProcess.EmbeddedSettings(dataDirectory);
        settings["Platform:Models:0:Name"] = "ok";
        settings["Platform:Models:0:Provider"] = "openai";
        settings["Platform:Models:0:UpstreamModel"] = "ok";
        settings["Platform:Models:0:Endpoint"] = upstream.BaseUrl + "/v1";
        settings["Platform:Models:0:MaxRetries"] = "0";
        await using var silo = SiloProcess.Start(settings, environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.Endpoint + "/v1/traces",
            ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));

        // By default (no ASP.NET Core or HttpClient spans) the caller's trace context reaches the request span, which is the
        // SERVER span, and the provider receives the attempt span as its parent.
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var parentId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        var call = SiloProcess.Request(
            HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey,
            JsonContent.Create(new { model = "ok", messages = new[] { new { role = "user", content = "hi" } } }));
        call.Headers.Add("traceparent", $"00-{traceId}-{parentId}-01");
        using var response = await silo.Http.SendAsync(call);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var arrived = await Poll.UntilAsync(
            () => Task.FromResult(receiver.Spans.Count(s => s.Scope == "Platform.Gateway" && s.TraceId == traceId) == 2), TimeSpan.FromSeconds(20));
        Assert.True(arrived, $"spans received: {string.Join(", ", receiver.Spans.Select(s => s.Name))}");
        var request = Assert.Single(receiver.Spans, s => s.TraceId == traceId && s.Kind == OtlpSpan.Server);
        Assert.Equal("chat ok", request.Name);
        Assert.Equal("openai", request["gen_ai.provider.name"]);
        Assert.Equal(parentId, request.ParentSpanId);
        Assert.Equal("POST", request["http.request.method"]);
        Assert.Equal("/v1/chat/completions", request["http.route"]);
        Assert.Equal(200L, request["http.response.status_code"]);
        var attempt = Assert.Single(receiver.Spans, s => s.TraceId == traceId && s.Kind == OtlpSpan.Client);
        Assert.Equal(request.SpanId, attempt.ParentSpanId);
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", upstream.LastTraceparent["ok"]);
        Assert.DoesNotContain(receiver.Spans, s => s.Scope.Contains("AspNetCore", StringComparison.Ordinal) || s.Scope.Contains("Http", StringComparison.Ordinal));

        // Metrics would have been exported every 200 ms had they been registered; /metrics is not served without the setting.
        Assert.Equal(0, receiver.MetricExports);
        using var metrics = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/metrics", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
        await upstream.DisposeAsync();
    }
}
