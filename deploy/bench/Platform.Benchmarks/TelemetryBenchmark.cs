using System.Buffers;
using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Providers.OpenAi;
using Platform.Silo.Gateway;
using Platform.Silo.Observability;

namespace Platform.Benchmarks;

/// <summary>
/// The per-request telemetry cost on the streamed path of <see cref="StreamChunkBenchmark"/> (a 40-chunk answer read from
/// memory as the provider client reads it and written back as the gateway writes it), each method in its own process:
/// <list type="bullet">
/// <item><see cref="TelemetryOff"/>: what the gateway does with no exporter configured (no filter, a null attempt span);</item>
/// <item><see cref="TelemetryOn"/>: the request span, the attempt span and the per-request metrics, with the OpenTelemetry SDK
/// listening (every span sampled and batched to an exporter that drops them, the Platform meter aggregated);</item>
/// <item><see cref="MeaiWrapperNoListener"/>: the same stream through Microsoft.Extensions.AI's <c>UseOpenTelemetry</c> wrapper
/// with nothing listening, the cost the platform avoids by emitting attempt spans itself.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmark : IDisposable
{
    private static readonly ResolvedRoute Route = new(
        new ModelRoute { Name = "bench", Provider = ProviderNames.OpenAi, UpstreamModel = "bench-upstream", Endpoint = "http://127.0.0.1:9/v1" },
        new ModelPrice(1, 0.5m, 2, null),
        new RouteClients(null, null));

    private readonly ArrayBufferWriter<byte> _output = new(16 * 1024);
    private readonly GatewayRequest _request = new("bench", [new ChatMessage(ChatRole.User, "hello")], new ChatOptions { MaxOutputTokens = 64 }, true, false, null);
    private byte[] _body = [];
    private IChatClient _plain = null!;
    private IChatClient _wrapped = null!;
    private TracerProvider? _tracing;
    private MeterProvider? _metrics;
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        var sse = new StreamChunkBenchmark();
        sse.Setup();
        _body = sse.Body;
        _plain = new MemoryStreamClient(this);
        _wrapped = new ChatClientBuilder(_plain).UseOpenTelemetry(sourceName: "bench.meai").Build();
        _context = new DefaultHttpContext();
    }

    [GlobalSetup(Target = nameof(TelemetryOn))]
    public void SetupOn()
    {
        Setup();
        _tracing = Sdk.CreateTracerProviderBuilder().AddSource(GatewayTelemetry.SourceName).AddProcessor(new BatchActivityExportProcessor(new DropExporter())).Build();
        _metrics = Sdk.CreateMeterProviderBuilder().AddMeter(PlatformMeter.Meter.Name).AddReader(new BaseExportingMetricReader(new DropMetrics())).Build();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _tracing?.Dispose();
        _metrics?.Dispose();
        _wrapped?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public async Task<int> TelemetryOff()
    {
        using var attempt = GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 1, fallback: false);
        return await StreamAsync(_plain);
    }

    [Benchmark]
    public async Task<int> TelemetryOn()
    {
        using var activity = GatewayTelemetry.Source.StartActivity(GenAiAttributes.Chat, ActivityKind.Internal);
        var telemetry = new RequestTelemetry(activity, GenAiAttributes.Chat, new TelemetryOptions());
        telemetry.Requested(_request);
        telemetry.Routed(Route);
        int written;
        using (var attempt = GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 1, fallback: false))
        {
            GatewayTelemetry.AttemptSucceeded(attempt, "chatcmpl-bench", "bench-upstream", null, null);
            written = await StreamAsync(_plain);
        }

        telemetry.Served(new ServedBy(Route, 1, false));
        telemetry.Completed(new UsageCost(21, 0, 40, 0.0001m, false), success: true);
        telemetry.End(_context, null);
        return written;
    }

    [Benchmark]
    public async Task<int> MeaiWrapperNoListener()
    {
        using var attempt = GatewayTelemetry.StartAttempt(Route, GenAiAttributes.Chat, 1, fallback: false);
        return await StreamAsync(_wrapped);
    }

    /// <summary>What the stream handler does per update: collect the text, write the chunk.</summary>
    private async Task<int> StreamAsync(IChatClient client)
    {
        _output.ResetWrittenCount();
        var writer = new ChunkWriter("bench", "chatcmpl-1", 1700000000);
        var first = true;
        var text = new StringBuilder();
        await foreach (var update in client.GetStreamingResponseAsync(_request.Messages, _request.Options))
        {
            text.Append(update.Text);
            if (CompletionWriter.HasChunkPayload(update, first))
            {
                writer.Write(_output, update, first);
                first = false;
            }
        }

        return _output.WrittenCount + text.Length;
    }

    private async IAsyncEnumerable<ChatResponseUpdate> Read([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = new OpenAiWire.StreamReader();
        var done = new ChatResponseUpdate();
        var events = SseParser.Create(new MemoryStream(_body), (_, data) => data.SequenceEqual("[DONE]"u8) ? done : data.IsEmpty ? null : reader.Read(data));
        await foreach (var item in events.EnumerateAsync(cancellationToken))
        {
            if (ReferenceEquals(item.Data, done))
            {
                break;
            }

            if (item.Data is { } update)
            {
                yield return update;
            }
        }
    }

    /// <summary>The provider client of the benchmark: the recorded SSE body, parsed as the OpenAI provider parses it.</summary>
    private sealed class MemoryStreamClient(TelemetryBenchmark bench) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => bench.Read(cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private sealed class DropExporter : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch) => ExportResult.Success;
    }

    private sealed class DropMetrics : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
