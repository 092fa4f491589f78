using System.Buffers;
using System.Net.ServerSentEvents;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Platform.Providers.OpenAi;
using Platform.Silo.Gateway;

namespace Platform.Benchmarks;

/// <summary>
/// The per-chunk work of a streamed completion without HTTP: the 40-chunk answer of <c>deploy/bench/run.sh --stream</c>
/// (a role chunk, 39 text chunks, a finish chunk, a usage chunk, [DONE]) read from memory as the provider client reads
/// it (<see cref="SseParser"/> and <see cref="OpenAiWire.StreamReader"/>), and written back as the gateway writes it
/// (<see cref="ChunkWriter"/>). Baseline: copying the same bytes (what a byte relay would do at least).
/// </summary>
[MemoryDiagnoser]
public class StreamChunkBenchmark
{
    private byte[] _body = [];

    /// <summary>The recorded SSE body (after <see cref="Setup"/>), shared with <see cref="TelemetryBenchmark"/>.</summary>
    public byte[] Body => _body;

    private readonly ArrayBufferWriter<byte> _output = new(16 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        const string chunk = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"bench-upstream\",\"system_fingerprint\":\"fp_bench\",";
        var sse = new StringBuilder();
        sse.Append(chunk).Append("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Tok00\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        for (var i = 1; i < 40; i++)
        {
            sse.Append(chunk).Append($"\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok{i:00}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n");
        }

        sse.Append(chunk).Append("\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n");
        sse.Append(chunk).Append("\"choices\":[],\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":40,\"total_tokens\":61}}\n\n");
        sse.Append("data: [DONE]\n\n");
        _body = Encoding.UTF8.GetBytes(sse.ToString());
    }

    [Benchmark(Baseline = true)]
    public int CopyBytes()
    {
        _output.ResetWrittenCount();
        _output.Write(_body);
        return _output.WrittenCount;
    }

    [Benchmark]
    public async Task<int> ReadOnly()
    {
        var count = 0;
        await foreach (var update in Read())
        {
            count += update.Contents.Count;
        }

        return count;
    }

    [Benchmark]
    public async Task<int> ReadAndWrite()
    {
        _output.ResetWrittenCount();
        var writer = new ChunkWriter("bench", "chatcmpl-1", 1700000000);
        var first = true;
        var text = new StringBuilder();
        await foreach (var update in Read())
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

    private async IAsyncEnumerable<ChatResponseUpdate> Read()
    {
        var reader = new OpenAiWire.StreamReader();
        var done = new ChatResponseUpdate();
        var events = SseParser.Create(new MemoryStream(_body), (_, data) => data.SequenceEqual("[DONE]"u8) ? done : data.IsEmpty ? null : reader.Read(data));
        await foreach (var item in events.EnumerateAsync())
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
}
