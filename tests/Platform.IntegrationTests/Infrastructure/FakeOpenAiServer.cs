using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Platform.IntegrationTests.Infrastructure;

/// <summary>
/// An OpenAI-compatible server on loopback whose behaviour is chosen by the upstream model name, so the real
/// OpenAI and Azure OpenAI SDKs (and their wire formats) run inside the gateway:
/// <c>ok</c>, <c>no-usage</c> (streams without a usage chunk), <c>flaky-*</c> (429 first, then ok),
/// <c>error-500</c>, <c>hang</c>, <c>garbage</c> (200 with a body that is not JSON), <c>cut-*</c> (stream breaks after two chunks),
/// <c>tools</c> (answers with two tool calls; streamed, their arguments arrive in fragments),
/// <c>limited</c> (always 429 with <c>retry-after: 120</c>; <c>limited-huge</c>: <c>1e12</c>),
/// <c>context-400</c> (400 <c>context_length_exceeded</c>),
/// <c>thinking</c> (streams reasoning chunks with no visible text every 200 ms for 3 s, then an answer),
/// <c>stalling</c> (streams one chunk, then nothing for 30 s),
/// <c>stream-refusal</c> (a 200 stream whose first event is an <c>invalid_request_error</c> object).
/// </summary>
public sealed partial class FakeOpenAiServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>Requests received per upstream model name.</summary>
    public ConcurrentDictionary<string, int> Calls { get; } = new();

    /// <summary>The last request body received per upstream model name.</summary>
    public ConcurrentDictionary<string, string> LastBody { get; } = new();

    /// <summary>The W3C <c>traceparent</c> header of the last request received per upstream model name, when it had one.</summary>
    public ConcurrentDictionary<string, string> LastTraceparent { get; } = new();

    public int TotalCalls => Calls.Values.Sum();

    public async Task InitializeAsync()
    {
        var port = TestEnvironment.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v1/chat/completions", (HttpContext c) => HandleAsync(c, deployment: null));
        _app.MapPost("/openai/deployments/{deployment}/chat/completions", (HttpContext c, string deployment) => HandleAsync(c, deployment));
        _app.MapPost("/v1/embeddings", EmbedAsync);
        _app.MapPost("/elsewhere/chat/completions", (HttpContext c) => Calls.AddOrUpdate("elsewhere", 1, (_, n) => n + 1));
        await _app.StartAsync();
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task EmbedAsync(HttpContext context)
    {
        using var json = await JsonDocument.ParseAsync(context.Request.Body);
        var model = json.RootElement.GetProperty("model").GetString()!;
        Calls.AddOrUpdate(model, 1, (_, n) => n + 1);
        LastBody[model] = json.RootElement.GetRawText();
        var input = json.RootElement.GetProperty("input");
        var count = input.ValueKind == JsonValueKind.Array ? input.GetArrayLength() : 1;
        var data = string.Join(",", Enumerable.Range(0, count).Select(i => $$$"""{"object":"embedding","index":{{{i}}},"embedding":[0.5,-0.25,0.125]}"""));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync($$$"""{"object":"list","data":[{{{data}}}],"model":"{{{model}}}","usage":{"prompt_tokens":6,"total_tokens":6}}""");
    }

    private async Task HandleAsync(HttpContext context, string? deployment)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        using var json = JsonDocument.Parse(body);
        var model = deployment ?? json.RootElement.GetProperty("model").GetString()!;
        var call = Calls.AddOrUpdate(model, 1, (_, n) => n + 1);
        LastBody[model] = body;
        if (context.Request.Headers.TryGetValue("traceparent", out var traceparent))
        {
            LastTraceparent[model] = traceparent.ToString();
        }
        var stream = json.RootElement.TryGetProperty("stream", out var s) && s.GetBoolean();
        var includeUsage = json.RootElement.TryGetProperty("stream_options", out var so)
            && so.TryGetProperty("include_usage", out var iu) && iu.GetBoolean();

        if (await HostileAsync(context, model, stream))
        {
            return;
        }

        if (model.StartsWith("slow", StringComparison.Ordinal))
        {
            // A provider that takes a while: 40 ms, then the normal answer ("Hello from slow...").
            await Task.Delay(TimeSpan.FromMilliseconds(40), context.RequestAborted);
        }

        switch (model)
        {
            case "error-500":
                context.Response.StatusCode = 500;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "upstream exploded", type = "server_error" } });
                return;
            case "reject-400":
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "context too long", type = "invalid_request_error" } });
                return;
            case "unauthorized-401":
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "bad key", type = "invalid_request_error" } });
                return;
            case "hang":
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { });
                return;
            case "garbage":
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("<html>definitely not json");
                return;
            case "context-400":
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = new { message = "This model's maximum context length is 8192 tokens.", type = "invalid_request_error", code = "context_length_exceeded" } });
                return;
            case "limited" or "limited-huge":
                context.Response.StatusCode = 429;
                context.Response.Headers["retry-after"] = model == "limited" ? "120" : "1e12";
                await context.Response.WriteAsJsonAsync(new { error = new { message = "quota exhausted for two minutes", type = "rate_limit_error" } });
                return;
            case var m when m.StartsWith("flaky", StringComparison.Ordinal) && call == 1:
                context.Response.StatusCode = 429;
                context.Response.Headers["retry-after-ms"] = "10";
                await context.Response.WriteAsJsonAsync(new { error = new { message = "slow down", type = "rate_limit_error" } });
                return;
        }

        if (model == "thinking" && stream)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"id\":\"t\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n");
            await context.Response.Body.FlushAsync();
            for (var i = 0; i < 15; i++)
            {
                await Task.Delay(200);
                await context.Response.WriteAsync("data: {\"id\":\"t\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm \"},\"finish_reason\":null}]}\n\n");
                await context.Response.Body.FlushAsync();
            }

            await context.Response.WriteAsync("data: {\"id\":\"t\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Thought it through\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
            return;
        }

        if (model == "stalling" && stream)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { });
            return;
        }

        if (model == "stream-refusal" && stream)
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"error\":{\"message\":\"maximum context length exceeded\",\"type\":\"invalid_request_error\"}}\n\n");
            return;
        }

        if (model == "tools")
        {
            await ToolCallsAsync(context, stream);
            return;
        }

        if (model == "judge-json" && !stream)
        {
            // A judge answering the platform's rubric with structured output (score 4 of 5), in a code fence.
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-judge",
                @object = "chat.completion",
                created = 1700000000,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "```json\n{\"score\": 4, \"reasoning\": \"mostly right\"}\n```" }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 100, completion_tokens = 20, total_tokens = 120 },
            });
            return;
        }

        if (model == "echo" && !stream)
        {
            // Answers with the last message's text, so a test can see what the rendered prompt sent.
            using var sent = JsonDocument.Parse(body);
            var last = sent.RootElement.GetProperty("messages").EnumerateArray().Last().GetProperty("content").GetString();
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-echo",
                @object = "chat.completion",
                created = 1700000000,
                model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = last }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 10, completion_tokens = 5, total_tokens = 15 },
            });
            return;
        }

        if (!stream)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$$"""
                {"id":"chatcmpl-fake{{{call}}}","object":"chat.completion","created":1700000000,"model":"{{{model}}}",
                 "choices":[{"index":0,"message":{"role":"assistant","content":"Hello from {{{model}}}"},"finish_reason":"stop"}],
                 "usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}
                """);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        string[] pieces = ["Hello", " from", " the", " fake"];
        for (var i = 0; i < pieces.Length; i++)
        {
            if (model.StartsWith("cut", StringComparison.Ordinal) && i == 2)
            {
                // Let the first chunks reach the gateway before the reset (a reset discards unread bytes).
                await Task.Delay(300);
                context.Abort();
                return;
            }

            var role = i == 0 ? "\"role\":\"assistant\"," : "";
            await context.Response.WriteAsync($$$"""
                data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"{{{model}}}","choices":[{"index":0,"delta":{{{{role}}}"content":"{{{pieces[i]}}}"},"finish_reason":null}]}


                """);
            await context.Response.Body.FlushAsync();
        }

        await context.Response.WriteAsync($$$"""
            data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"{{{model}}}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}


            """);
        if (includeUsage && model != "no-usage")
        {
            await context.Response.WriteAsync($$$"""
                data: {"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":"{{{model}}}","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}


                """);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    /// <summary>The exact argument text of the first tool call <c>tools</c> answers with (spacing and number format included).</summary>
    public const string ToolArguments = "{\"city\": \"Paris\", \"days\": 2.50}";

    private static async Task ToolCallsAsync(HttpContext context, bool stream)
    {
        var arguments = JsonSerializer.Serialize(ToolArguments);
        if (!stream)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($$$"""
                {"id":"chatcmpl-tools","object":"chat.completion","created":1700000000,"model":"tools",
                 "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
                   {"id":"call_weather","type":"function","function":{"name":"get_weather","arguments":{{{arguments}}}}},
                   {"id":"call_time","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}],
                 "usage":{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60}}
                """);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var half = ToolArguments.Length / 2;
        string[] deltas =
        [
            """{"role":"assistant","tool_calls":[{"index":0,"id":"call_weather","type":"function","function":{"name":"get_weather","arguments":""}}]}""",
            $$$"""{"tool_calls":[{"index":0,"function":{"arguments":{{{JsonSerializer.Serialize(ToolArguments[..half])}}}}}]}""",
            """{"tool_calls":[{"index":1,"id":"call_time","type":"function","function":{"name":"get_time","arguments":"{}"}}]}""",
            $$$"""{"tool_calls":[{"index":0,"function":{"arguments":{{{JsonSerializer.Serialize(ToolArguments[half..])}}}}}]}""",
        ];
        foreach (var delta in deltas)
        {
            await context.Response.WriteAsync($$$"""
                data: {"id":"chatcmpl-tools","object":"chat.completion.chunk","created":1700000000,"model":"tools","choices":[{"index":0,"delta":{{{delta}}},"finish_reason":null}]}


                """);
        }

        await context.Response.WriteAsync("""
            data: {"id":"chatcmpl-tools","object":"chat.completion.chunk","created":1700000000,"model":"tools","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

            data: {"id":"chatcmpl-tools","object":"chat.completion.chunk","created":1700000000,"model":"tools","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":20,"total_tokens":60}}

            data: [DONE]


            """);
    }
}
