using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Observability;

/// <summary>
/// The GenAI spans as an OTLP backend receives them from a real silo process: the request span with the semantic
/// conventions' attributes and the platform's, a CLIENT child per provider attempt, and the caller's trace context.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class OtlpTracesTests(TelemetryFixture fixture)
{
    [Fact]
    public async Task Chat_WithCallerTraceparent_ExportsRequestSpanWithGenAiAttributes_AndAttemptChildInTheCallersTrace()
    {
        var (traceId, parentId) = NewTraceContext();
        using var response = await SendAsync("/v1/chat/completions", new
        {
            model = "ok",
            messages = new[] { new { role = "user", content = "secret prompt text" } },
            max_tokens = 5,
            temperature = 0.5,
        }, traceId, parentId);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var spans = await SpansOfTraceAsync(
            traceId, s => s.Kind == OtlpSpan.Client && s.Name == "chat ok", s => s.Kind == OtlpSpan.Internal, s => s.Kind == OtlpSpan.Server);
        var request = Assert.Single(spans, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        Assert.Equal("chat ok", request.Name);
        Assert.Equal("chat", request["gen_ai.operation.name"]);
        Assert.Equal("openai", request["gen_ai.provider.name"]);
        Assert.Equal("ok", request["gen_ai.request.model"]);
        Assert.Equal("ok", request["gen_ai.response.model"]);
        Assert.StartsWith("chatcmpl-fake", (string)request["gen_ai.response.id"]!, StringComparison.Ordinal);
        Assert.True((long)request["gen_ai.usage.input_tokens"]! > 0);
        Assert.Equal(5L, request["gen_ai.usage.output_tokens"]);
        Assert.Equal(5L, request["gen_ai.request.max_tokens"]);
        Assert.Equal(0.5, request["gen_ai.request.temperature"]);
        Assert.Equal("demo", request["platform.tenant"]);
        Assert.Equal("ok", request["platform.route.served"]);
        Assert.Equal(1L, request["platform.attempts"]);
        Assert.Equal(false, request["platform.fallback"]);
        Assert.True((double)request["platform.cost_usd"]! > 0);
        Assert.Equal("2xx", request["platform.status_class"]);
        Assert.NotEqual(OtlpSpan.Error, request.StatusCode);

        // Content capture is on for the silo, but the demo tenant's policy stores no content: none on any span.
        Assert.DoesNotContain(spans, s => s.Attributes.Values.OfType<string>().Any(v => v.Contains("secret prompt text", StringComparison.Ordinal)));
        Assert.DoesNotContain(spans, s => s.Attributes.ContainsKey("gen_ai.input.messages"));

        // The request span is a child of ASP.NET Core's server span, itself the child of the caller's span.
        var server = Assert.Single(spans, s => s.Kind == OtlpSpan.Server);
        Assert.Equal(parentId, server.ParentSpanId);
        Assert.Equal(server.SpanId, request.ParentSpanId);

        var attempt = Assert.Single(spans, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Client);
        Assert.Equal(request.SpanId, attempt.ParentSpanId);
        Assert.Equal("openai", attempt["gen_ai.provider.name"]);
        Assert.Equal("ok", attempt["gen_ai.request.model"]);
        Assert.Equal("127.0.0.1", attempt["server.address"]);
        Assert.Equal(1L, attempt["platform.attempt"]);

        // The attempt span is the provider call: the provider receives it as its parent (no HttpClient span of its own).
        Assert.Equal($"00-{traceId}-{attempt.SpanId}-01", fixture.Upstream.LastTraceparent["ok"]);
    }

    [Fact]
    public async Task Fallback_ExportsTwoAttemptSpans_TheFailedOneWithErrorType_UnderOneRequestSpan()
    {
        var (traceId, parentId) = NewTraceContext();
        using var response = await SendAsync("/v1/chat/completions", new
        {
            model = "broken-then-ok",
            messages = new[] { new { role = "user", content = "hi" } },
        }, traceId, parentId);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var spans = await SpansOfTraceAsync(
            traceId, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Client && s.Name == "chat ok", s => s.Kind == OtlpSpan.Internal);
        var request = Assert.Single(spans, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        Assert.Equal("chat broken-then-ok", request.Name);
        Assert.Equal(2L, request["platform.attempts"]);
        Assert.Equal(true, request["platform.fallback"]);
        Assert.Equal("ok", request["platform.route.served"]);

        var attempts = spans.Where(s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Client).OrderBy(s => (long)s["platform.attempt"]!).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(request.SpanId, a.ParentSpanId));
        Assert.Equal("chat error-500", attempts[0].Name);
        Assert.Equal("500", attempts[0]["error.type"]);
        Assert.Equal(OtlpSpan.Error, attempts[0].StatusCode);
        Assert.Equal(false, attempts[0]["platform.fallback"]);
        Assert.Equal("chat ok", attempts[1].Name);
        Assert.Equal(true, attempts[1]["platform.fallback"]);
        Assert.NotEqual(OtlpSpan.Error, attempts[1].StatusCode);
    }

    [Fact]
    public async Task Stream_AndEmbeddings_AndAFailure_EachExportTheirRequestSpan()
    {
        var (streamTrace, streamParent) = NewTraceContext();
        using (var stream = await SendAsync("/v1/chat/completions", new
        {
            model = "ok",
            stream = true,
            messages = new[] { new { role = "user", content = "hi" } },
        }, streamTrace, streamParent))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            await stream.Content.ReadAsStringAsync();
        }

        var (embedTrace, embedParent) = NewTraceContext();
        using (var embed = await SendAsync("/v1/embeddings", new { model = "embed", input = "hello" }, embedTrace, embedParent))
        {
            Assert.Equal(HttpStatusCode.OK, embed.StatusCode);
        }

        var (failTrace, failParent) = NewTraceContext();
        using (var missing = await SendAsync("/v1/chat/completions", new { model = "no-such-model", messages = new[] { new { role = "user", content = "hi" } } }, failTrace, failParent))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var streamed = await SpansOfTraceAsync(streamTrace, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal, s => s.Kind == OtlpSpan.Client && s.Scope == "Platform.Gateway");
        var streamRequest = Assert.Single(streamed, s => s.Kind == OtlpSpan.Internal && s.Scope == "Platform.Gateway");
        Assert.Equal(true, streamRequest["platform.stream"]);
        Assert.Equal(4L, streamRequest["gen_ai.usage.output_tokens"]);
        Assert.Equal(streamRequest.SpanId, Assert.Single(streamed, s => s.Kind == OtlpSpan.Client && s.Scope == "Platform.Gateway").ParentSpanId);

        var embedded = await SpansOfTraceAsync(embedTrace, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        var embedRequest = Assert.Single(embedded, s => s.Kind == OtlpSpan.Internal && s.Scope == "Platform.Gateway");
        Assert.Equal("embeddings embed", embedRequest.Name);
        Assert.Equal("embeddings", embedRequest["gen_ai.operation.name"]);
        Assert.Equal(6L, embedRequest["gen_ai.usage.input_tokens"]);

        var failed = await SpansOfTraceAsync(failTrace, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        var failRequest = Assert.Single(failed, s => s.Kind == OtlpSpan.Internal && s.Scope == "Platform.Gateway");
        Assert.Equal(OtlpSpan.Error, failRequest.StatusCode);
        Assert.Equal("model_not_found", failRequest["error.type"]);
        Assert.Equal("4xx", failRequest["platform.status_class"]);
    }

    [Fact]
    public async Task Content_IsOnSpans_OnlyForATenantWhosePolicyStoresContent()
    {
        var tenant = "otel-content-" + Guid.NewGuid().ToString("N")[..8];
        using (var created = await fixture.Silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, "/api/v1/tenants", TestEnvironment.AdminKey, JsonContent.Create(new { id = tenant, displayName = "Content" }))))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var keyResponse = await fixture.Silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Post, $"/api/v1/tenants/{tenant}/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "owner", role = "owner" })));
        var owner = (await keyResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        using (var patch = await fixture.Silo.Http.SendAsync(SiloProcess.Request(
            HttpMethod.Patch, $"/api/v1/tenants/{tenant}", owner, JsonContent.Create(new { storeRequestContent = true, requestContentMaxBytes = 1000 }))))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        var (traceId, parentId) = NewTraceContext();
        var request = SiloProcess.Request(
            HttpMethod.Post, "/v1/chat/completions", owner,
            JsonContent.Create(new { model = "ok", messages = new[] { new { role = "user", content = "the capturable prompt" } }, max_tokens = 5 }));
        request.Headers.Add("traceparent", $"00-{traceId}-{parentId}-01");
        using (var response = await fixture.Silo.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var spans = await SpansOfTraceAsync(traceId, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        var span = Assert.Single(spans, s => s.Scope == "Platform.Gateway" && s.Kind == OtlpSpan.Internal);
        Assert.Contains("the capturable prompt", (string)span["gen_ai.input.messages"]!, StringComparison.Ordinal);
        Assert.True(span.Attributes.ContainsKey("gen_ai.output.messages"));
    }

    private static (string TraceId, string SpanId) NewTraceContext() =>
        (Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..8]));

    private async Task<HttpResponseMessage> SendAsync(string path, object body, string traceId, string parentId)
    {
        var request = SiloProcess.Request(HttpMethod.Post, path, TestEnvironment.DemoKey, JsonContent.Create(body));
        request.Headers.Add("traceparent", $"00-{traceId}-{parentId}-01");
        return await fixture.Silo.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The spans of one trace received so far, polled until every <paramref name="expected"/> one has arrived.</summary>
    private async Task<List<OtlpSpan>> SpansOfTraceAsync(string traceId, params Func<OtlpSpan, bool>[] expected)
    {
        var spans = await Poll.UntilAsync(
            () => Task.FromResult(fixture.Receiver.Spans.Where(s => s.TraceId == traceId).ToList()),
            list => expected.All(list.Any),
            TimeSpan.FromSeconds(20));
        Assert.True(expected.All(spans.Any), $"Spans of trace {traceId} received: {string.Join(", ", spans.Select(s => $"{s.Scope}:{s.Name}:{s.Kind}"))}");
        return spans;
    }
}
