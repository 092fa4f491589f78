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
        var dataDirectory = TestEnvironment.NewTempDirectory("platform-otel-traces");
        var settings = SiloProcess.EmbeddedSettings(dataDirectory);
        settings["Platform:Telemetry:HttpTracing"] = "false"; // no ASP.NET Core span: the request span must take the caller's trace itself
        await using var silo = SiloProcess.Start(settings, environment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.Endpoint + "/v1/traces",
            ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));

        // The caller's trace context reaches the request span without ASP.NET Core's instrumentation.
        var traceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var parentId = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64(1, long.MaxValue)));
        var call = SiloProcess.Request(
            HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey,
            JsonContent.Create(new { model = "sim-small", messages = new[] { new { role = "user", content = "hi" } } }));
        call.Headers.Add("traceparent", $"00-{traceId}-{parentId}-01");
        using var response = await silo.Http.SendAsync(call);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var arrived = await Poll.UntilAsync(
            () => Task.FromResult(receiver.Spans.Any(s => s.Scope == "Platform.Gateway" && s.Name == "chat sim-small")), TimeSpan.FromSeconds(20));
        Assert.True(arrived, $"spans received: {string.Join(", ", receiver.Spans.Select(s => s.Name))}");
        var request = receiver.Spans.First(s => s.Scope == "Platform.Gateway" && s.Name == "chat sim-small");
        Assert.Equal("platform.simulated", request["gen_ai.provider.name"]);
        Assert.Equal(traceId, request.TraceId);
        Assert.Equal(parentId, request.ParentSpanId);
        Assert.Equal(OtlpSpan.Server, request.Kind);
        Assert.DoesNotContain(receiver.Spans, s => s.Scope.Contains("AspNetCore", StringComparison.Ordinal));

        // Metrics would have been exported every 200 ms had they been registered; /metrics is not served without the setting.
        Assert.Equal(0, receiver.MetricExports);
        using var metrics = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/metrics", TestEnvironment.AdminKey));
        Assert.Equal(HttpStatusCode.NotFound, metrics.StatusCode);
    }
}
