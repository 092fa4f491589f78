using System.Buffers.Binary;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>One span as exported over OTLP: ids in lower-case hex, kind and status code as the protocol numbers them.</summary>
public sealed record OtlpSpan(
    string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, int StatusCode, IReadOnlyDictionary<string, object?> Attributes)
{
    public const int Internal = 1;
    public const int Server = 2;
    public const int Client = 3;
    public const int Error = 2;

    public object? this[string key] => Attributes.TryGetValue(key, out var value) ? value : null;
}

/// <summary>
/// An OTLP/HTTP receiver on loopback (<c>http/protobuf</c>): takes <c>/v1/traces</c> and decodes the spans with a protobuf
/// wire reader (OpenTelemetry.Proto is not served on NuGet; field numbers from opentelemetry-proto trace.proto and
/// common.proto), and accepts <c>/v1/metrics</c> and <c>/v1/logs</c> without decoding them.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public ConcurrentQueue<OtlpSpan> Spans { get; } = new();

    private int _metricExports;

    /// <summary>How many metric exports arrived.</summary>
    public int MetricExports => Volatile.Read(ref _metricExports);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var port = TestEnvironment.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app, $"http://127.0.0.1:{port}");
        app.MapPost("/v1/traces", async (HttpContext context) =>
        {
            foreach (var span in Decode(await ReadAsync(context.Request)))
            {
                receiver.Spans.Enqueue(span);
            }

            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            await ReadAsync(context.Request);
            Interlocked.Increment(ref receiver._metricExports);
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/logs", async (HttpContext context) =>
        {
            await ReadAsync(context.Request);
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task<byte[]> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    /// <summary>ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) → ScopeSpans{scope(1).name(1), spans(2)}.</summary>
    public static List<OtlpSpan> Decode(ReadOnlyMemory<byte> request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Fields(request).Where(f => f.Field == 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans.Bytes).Where(f => f.Field == 2))
            {
                var fields = Fields(scopeSpans.Bytes);
                var scope = fields.Where(f => f.Field == 1).Select(f => Text(Fields(f.Bytes).FirstOrDefault(s => s.Field == 1).Bytes)).FirstOrDefault() ?? "";
                spans.AddRange(fields.Where(f => f.Field == 2).Select(f => DecodeSpan(scope, f.Bytes)));
            }
        }

        return spans;
    }

    /// <summary>Span: trace_id(1), span_id(2), parent_span_id(4), name(5), kind(6), attributes(9), status(15).code(3).</summary>
    private static OtlpSpan DecodeSpan(string scope, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0, status = 0;
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var f in Fields(span))
        {
            switch (f.Field)
            {
                case 1: traceId = Convert.ToHexStringLower(f.Bytes.Span); break;
                case 2: spanId = Convert.ToHexStringLower(f.Bytes.Span); break;
                case 4: parent = Convert.ToHexStringLower(f.Bytes.Span); break;
                case 5: name = Text(f.Bytes); break;
                case 6: kind = (int)f.Value; break;
                case 9:
                    var kv = Fields(f.Bytes);
                    attributes[Text(kv.First(k => k.Field == 1).Bytes)] = kv.Where(k => k.Field == 2).Select(k => Value(k.Bytes)).FirstOrDefault();
                    break;
                case 15: status = (int)Fields(f.Bytes).Where(s => s.Field == 3).Select(s => s.Value).FirstOrDefault(); break;
            }
        }

        return new OtlpSpan(scope, traceId, spanId, parent, name, kind, status, attributes);
    }

    /// <summary>AnyValue: string(1), bool(2), int(3), double(4), array(5) of values(1).</summary>
    private static object? Value(ReadOnlyMemory<byte> any)
    {
        foreach (var f in Fields(any))
        {
            switch (f.Field)
            {
                case 1: return Text(f.Bytes);
                case 2: return f.Value != 0;
                case 3: return (long)f.Value;
                case 4: return BitConverter.UInt64BitsToDouble(f.Value);
                case 5: return Fields(f.Bytes).Where(v => v.Field == 1).Select(v => Value(v.Bytes)).ToArray();
            }
        }

        return null;
    }

    private static string Text(ReadOnlyMemory<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes.Span);

    private readonly record struct WireField(int Field, ulong Value, ReadOnlyMemory<byte> Bytes);

    /// <summary>The fields of one protobuf message: varints (0), fixed64 (1), length-delimited (2) and fixed32 (5).</summary>
    private static List<WireField> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<WireField>();
        var span = message.Span;
        var pos = 0;
        while (pos < span.Length)
        {
            var key = Varint(span, ref pos);
            var field = (int)(key >> 3);
            switch (key & 7)
            {
                case 0:
                    fields.Add(new WireField(field, Varint(span, ref pos), default));
                    break;
                case 1:
                    fields.Add(new WireField(field, BinaryPrimitives.ReadUInt64LittleEndian(span[pos..]), default));
                    pos += 8;
                    break;
                case 2:
                    var length = (int)Varint(span, ref pos);
                    fields.Add(new WireField(field, 0, message.Slice(pos, length)));
                    pos += length;
                    break;
                case 5:
                    fields.Add(new WireField(field, BinaryPrimitives.ReadUInt32LittleEndian(span[pos..]), default));
                    pos += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {key & 7} at byte {pos}.");
            }
        }

        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = span[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
