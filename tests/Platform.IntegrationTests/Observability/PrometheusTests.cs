using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Observability;

/// <summary><c>/metrics</c> of a real silo process: the admin key only, and a real Prometheus server scraping it.</summary>
[Collection(TelemetryCollection.Name)]
public sealed class PrometheusTests(TelemetryFixture fixture)
{
    [Fact]
    public async Task Metrics_WithoutTheAdminKey_AreRefused_AndWithIt_AreThePrometheusTextFormat()
    {
        using (var anonymous = await fixture.Silo.Http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var client = await fixture.Silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/metrics", TestEnvironment.DemoKey)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, client.StatusCode);
        }

        using var chat = await fixture.Silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey, JsonContent.Create(new { model = "ok", messages = new[] { new { role = "user", content = "hi" } } })));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        var text = await Poll.UntilAsync(
            async () =>
            {
                using var admin = await fixture.Silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/metrics", TestEnvironment.AdminKey));
                Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
                Assert.StartsWith("text/plain", admin.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
                return await admin.Content.ReadAsStringAsync();
            },
            t => t.Contains("platform_requests_total{", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Contains("# TYPE platform_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE gen_ai_client_operation_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("gen_ai_client_token_usage_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("platform_cost_usd_total{", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealPrometheus_ScrapingWithTheAdminKey_ReturnsThePlatformsRequestCounter()
    {
        // A route of its own, so the count is exactly this test's requests whatever ran before.
        const int requests = 3;
        for (var i = 0; i < requests; i++)
        {
            using var response = await fixture.Silo.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/v1/embeddings", TestEnvironment.DemoKey, JsonContent.Create(new { model = "embed-metrics", input = $"prometheus {i}" })));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await using var prometheus = PrometheusServer.Start($"127.0.0.1:{fixture.Silo.HttpPort}", "/metrics", TestEnvironment.AdminKey);
        const string query = """sum(platform_requests_total{platform_route="embed-metrics",platform_status_class="2xx",gen_ai_operation_name="embeddings"})""";
        var value = await Poll.UntilAsync(() => prometheus.QueryScalarAsync(query), v => v == requests, TimeSpan.FromSeconds(45));
        Assert.True(value == requests, $"Prometheus answered {value?.ToString() ?? "no sample"} for {query}; targets: {await prometheus.TargetsAsync()}\n{prometheus.Output}");
    }
}
