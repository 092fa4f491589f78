using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// Behaviours of a compromised or buggy provider, by upstream model name:
/// <c>escapes</c> (text with escapes, raw UTF-8 and an id/model switch, after plain chunks taught the fast path their surroundings),
/// <c>bad-utf8</c>, <c>lone-surrogate</c>, <c>raw-control</c> (plain chunks, then text that is not valid JSON or UTF-8),
/// <c>error-after-text</c> (plain chunks, then an error object quoting the upstream key),
/// <c>cr-only</c> (one event with CR line ends, then silence), <c>json-for-stream</c> (a JSON body for a stream request),
/// <c>huge-event</c> (a 5 MB event), <c>flood</c> (1 MB of text per event, 64 of them), <c>endless</c> (a chunk every 20 ms until the gateway hangs up; counted in <see cref="Aborted"/>),
/// <c>truncated</c>, <c>gzip</c> (an answer compressed though not asked for), <c>huge-body</c> (a 70 MB answer),
/// <c>huge-error</c> (a 500 with a 100 MB body), <c>redirect</c> (a 307 to another host).
/// </summary>
public sealed partial class FakeOpenAiServer
{
    /// <summary>Streams the gateway hung up on, per upstream model name.</summary>
    public ConcurrentDictionary<string, int> Aborted { get; } = new();

    private static byte[] Chunk(string model, string contentJson, string id = "chatcmpl-hostile") => Encoding.UTF8.GetBytes(
        $$"""data: {"id":"{{id}}","object":"chat.completion.chunk","created":1700000000,"model":"{{model}}","choices":[{"index":0,"delta":{"content":{{contentJson}}},"finish_reason":null}]}""" + "\n\n");

    private static byte[] Finish(string model) => Encoding.UTF8.GetBytes(
        $$"""data: {"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1700000000,"model":"{{model}}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""" + "\n\ndata: [DONE]\n\n");

    /// <summary>Text that <c>escapes</c> streams, as the caller must see it.</summary>
    public const string EscapesText = "Hello plain more \"quoted\"\n é é tab\there switched end";

    private async Task<bool> HostileAsync(HttpContext context, string model, bool stream)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        async Task WriteAsync(byte[] bytes)
        {
            await response.Body.WriteAsync(bytes, aborted);
            await response.Body.FlushAsync(aborted);
        }

        async Task PlainAsync()
        {
            response.ContentType = "text/event-stream";
            foreach (var piece in new[] { "\"Hello\"", "\" plain\"", "\" more\"" })
            {
                await WriteAsync(Chunk(model, piece));
            }
        }

        switch (model)
        {
            case "escapes" when stream:
                await PlainAsync();
                foreach (var piece in new[] { "\" \\\"quoted\\\"\\n\"", "\" é\"", "\" \\u00e9\"", "\" tab\\there\"" })
                {
                    await WriteAsync(Chunk(model, piece));
                }

                await WriteAsync(Chunk("other-model", "\" switched\"", id: "chatcmpl-other"));
                await WriteAsync(Chunk("other-model", "\" end\"", id: "chatcmpl-other"));
                await WriteAsync(Finish(model));
                return true;
            case "invalid-utf8" when stream:
                await PlainAsync();
                await WriteAsync([.. Chunk(model, "\" bad ")[..^4], 0xC3, 0x28, .. "\"}}]}\n\n"u8.ToArray()]);
                await WriteAsync(Finish(model));
                return true;
            case "lone-surrogate" when stream:
                await PlainAsync();
                await WriteAsync(Chunk(model, "\" \\ud800 \""));
                await WriteAsync(Finish(model));
                return true;
            case "raw-control" when stream:
                await PlainAsync();
                await WriteAsync(Chunk(model, "\" a\u0001b\""));
                await WriteAsync(Finish(model));
                return true;
            case "error-after-text" when stream:
                await PlainAsync();
                await WriteAsync(Encoding.UTF8.GetBytes(
                    "data: {\"error\":{\"message\":\"Incorrect API key provided: sk-upstream-secret-never-logged\",\"type\":\"server_error\"}}\n\n"));
                return true;
            case "cr-only" when stream:
                response.ContentType = "text/event-stream";
                await WriteAsync(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Chunk(model, "\"Hello\"")).Replace("\n", "\r", StringComparison.Ordinal)));
                await Task.Delay(TimeSpan.FromSeconds(30), aborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return true;
            case "json-for-stream" when stream:
                response.ContentType = "application/json";
                await response.WriteAsync(
                    """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""");
                return true;
            case "huge-event" when stream:
                response.ContentType = "text/event-stream";
                await WriteAsync("data: {\"id\":\""u8.ToArray());
                var block = Encoding.UTF8.GetBytes(new string('x', 64 * 1024));
                for (var i = 0; i < 5 * 16; i++)
                {
                    await WriteAsync(block);
                }

                await WriteAsync("\"}\n\n"u8.ToArray());
                return true;
            case "endless" when stream:
                response.ContentType = "text/event-stream";
                try
                {
                    while (true)
                    {
                        await WriteAsync(Chunk(model, "\" more\""));
                        await Task.Delay(20, aborted);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    Aborted.AddOrUpdate(model, 1, (_, n) => n + 1);
                }

                return true;
            case "flood" when stream:
                // 1 MB of text per event, without end: a provider that never stops.
                response.ContentType = "text/event-stream";
                var megabyte = Chunk(model, "\"" + new string('x', 1024 * 1024) + "\"");
                try
                {
                    for (var i = 0; i < 64; i++)
                    {
                        await WriteAsync(megabyte);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                }

                // Writes to a connection the gateway closed may just be dropped: the hang-up is seen by waiting for it.
                await Task.Delay(TimeSpan.FromSeconds(10), aborted).ContinueWith(_ => { }, TaskScheduler.Default);
                if (aborted.IsCancellationRequested)
                {
                    Aborted.AddOrUpdate(model, 1, (_, n) => n + 1);
                }

                return true;
            case "truncated":
                response.ContentType = "application/json";
                await response.WriteAsync("""{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hel""");
                return true;
            case "gzip":
                response.ContentType = "application/json";
                response.Headers.ContentEncoding = "gzip";
                await using (var gzip = new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true))
                {
                    await gzip.WriteAsync(
                        """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"""u8.ToArray());
                }

                return true;
            case "huge-body":
                response.ContentType = "application/json";
                await WriteQuietlyAsync(response, "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"content\":\""u8.ToArray(), 70, aborted);
                return true;
            case "huge-error":
                response.StatusCode = 500;
                response.ContentType = "application/json";
                await WriteQuietlyAsync(response, "{\"error\":{\"message\":\""u8.ToArray(), 100, aborted);
                return true;
            case "redirect":
                response.StatusCode = 307;
                response.Headers.Location = $"http://localhost:{context.Request.Host.Port}/elsewhere/chat/completions";
                return true;
            default:
                return false;
        }
    }

    /// <summary>Writes <paramref name="start"/> and then <paramref name="megabytes"/> MB of text, until the reader hangs up.</summary>
    private static async Task WriteQuietlyAsync(HttpResponse response, byte[] start, int megabytes, CancellationToken aborted)
    {
        var piece = Encoding.UTF8.GetBytes(new string('x', 1024 * 1024));
        try
        {
            await response.Body.WriteAsync(start, aborted);
            for (var i = 0; i < megabytes; i++)
            {
                await response.Body.WriteAsync(piece, aborted);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The gateway stopped reading: what a bound looks like from here.
        }
    }
}
