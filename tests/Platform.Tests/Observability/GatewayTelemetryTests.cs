using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Silo.Observability;

namespace Platform.Tests.Observability;

/// <summary>
/// The attribute mapping of the gateway's spans and instruments, read back through the OpenTelemetry SDK (in-memory exporter)
/// and a <see cref="MeterListener"/>. One class, so the tests that attach listeners never run beside the one that needs none.
/// </summary>
public sealed class GatewayTelemetryTests
{
    private static readonly ResolvedRoute Route = new(
        new ModelRoute { Name = "gpt", Provider = ProviderNames.AzureOpenAi, UpstreamModel = "gpt-4o", Endpoint = "https://example.openai.azure.com:8443/" },
        new ModelPrice(1, 0.5m, 2, null),
        new RouteClients(null, null));

    [Fact]
    public void StartAttempt_WithNoListener_ReturnsNull()
    {
        Assert.False(GatewayTelemetry.Source.HasListeners());
        Assert.Null(GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 1, fallback: false));
    }

    [Fact]
    public void Attempts_AreClientSpans_WithGenAiAttributes_ErrorTypeOnFailure_AndResponseOnTheRequestSpan()
    {
        var exported = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource(GatewayTelemetry.SourceName).AddInMemoryExporter(exported).Build())
        {
            using var request = GatewayTelemetry.Source.StartActivity("chat gpt");
            using (var failed = GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 1, fallback: false))
            {
                GatewayTelemetry.AttemptFailed(failed, new ClientResultException("busy", new StatusResponse(503)), "status 503");
            }

            using (var served = GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 2, fallback: true))
            {
                GatewayTelemetry.AttemptSucceeded(served, "resp-1", "gpt-4o-2024-08-06", new UsageDetails { InputTokenCount = 12, OutputTokenCount = 3 }, ChatFinishReason.Stop);
            }

            Assert.Equal("resp-1", request!.GetTagItem(GenAiAttributes.ResponseId));
            Assert.Equal("gpt-4o-2024-08-06", request.GetTagItem(GenAiAttributes.ResponseModel));
        }

        var attempts = exported.Where(a => a.Kind == ActivityKind.Client).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a =>
        {
            Assert.Equal("chat gpt-4o", a.DisplayName);
            Assert.Equal("chat", a.GetTagItem(GenAiAttributes.OperationName));
            Assert.Equal("azure.ai.openai", a.GetTagItem(GenAiAttributes.ProviderName));
            Assert.Equal("gpt-4o", a.GetTagItem(GenAiAttributes.RequestModel));
            Assert.Equal("example.openai.azure.com", a.GetTagItem(GenAiAttributes.ServerAddress));
            Assert.Equal(8443, a.GetTagItem(GenAiAttributes.ServerPort));
            Assert.Equal(exported.Single(r => r.Kind == ActivityKind.Internal).SpanId, a.ParentSpanId);
        });
        Assert.Equal("503", attempts[0].GetTagItem(GenAiAttributes.ErrorType));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal(false, attempts[0].GetTagItem(GenAiAttributes.Fallback));
        Assert.Equal(true, attempts[1].GetTagItem(GenAiAttributes.Fallback));
        Assert.Equal(12L, attempts[1].GetTagItem(GenAiAttributes.InputTokens));
        Assert.Equal(new[] { "stop" }, attempts[1].GetTagItem(GenAiAttributes.FinishReasons));
        Assert.Equal(ActivityStatusCode.Unset, attempts[1].Status);
    }

    [Fact]
    public void Record_CountsTheRequest_AndTokensByType_WithLowCardinalityLabelsOnly()
    {
        var seen = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Platform")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();

        GatewayMetrics.Record(new RequestMeasurement("acme", "chat", "gpt", "openai", "gpt-4o", "2xx", null, 0.25, true, 100, 7, 0.001));

        void Add(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (seen)
            {
                seen.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
            }
        }

        var requests = Assert.Single(seen, s => s.Instrument == "platform.requests");
        Assert.Equal(1, requests.Value);
        Assert.Equal(
            ["gen_ai.operation.name", "platform.route", "platform.status_class", "platform.tenant"],
            requests.Tags.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0.25, Assert.Single(seen, s => s.Instrument == "gen_ai.client.operation.duration").Value);
        var tokens = seen.Where(s => s.Instrument == "gen_ai.client.token.usage").ToDictionary(s => (string)s.Tags["gen_ai.token.type"]!, s => s.Value);
        Assert.Equal(100, tokens["input"]);
        Assert.Equal(7, tokens["output"]);
        Assert.Equal(0.001, Assert.Single(seen, s => s.Instrument == "platform.cost.usd").Value, 9);
    }

    [Fact]
    public void Messages_AreTheConventionsShape_CutToTheCapAcrossAllParts()
    {
        var json = RequestTelemetry.Messages([new ChatMessage(ChatRole.User, "abcdef"), new ChatMessage(ChatRole.Assistant, "ghijkl")], maxChars: 8);

        using var doc = JsonDocument.Parse(json);
        var messages = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal("user", messages[0].GetProperty("role").GetString());
        Assert.Equal("text", messages[0].GetProperty("parts")[0].GetProperty("type").GetString());
        Assert.Equal("abcdef", messages[0].GetProperty("parts")[0].GetProperty("content").GetString());
        Assert.Equal("gh", messages[1].GetProperty("parts")[0].GetProperty("content").GetString());
    }

    private sealed class StatusResponse(int status) : PipelineResponse
    {
        public override int Status => status;

        public override string ReasonPhrase => "";

        public override Stream? ContentStream { get; set; }

        public override BinaryData Content => BinaryData.Empty;

        protected override PipelineResponseHeaders HeadersCore => throw new NotSupportedException();

        public override BinaryData BufferContent(CancellationToken cancellationToken = default) => BinaryData.Empty;

        public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => new(BinaryData.Empty);

        public override void Dispose()
        {
        }
    }
}
