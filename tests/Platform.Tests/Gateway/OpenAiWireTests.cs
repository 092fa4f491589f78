using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Platform.Providers.OpenAi;

namespace Platform.Tests.Gateway;

public sealed class OpenAiWireTests
{
    private static JsonElement Request(IEnumerable<ChatMessage> messages, ChatOptions? options = null, bool stream = false, bool azure = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        OpenAiWire.WriteRequest(buffer, "upstream-model", messages, options, stream, azure);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    [Fact]
    public void WriteRequest_CarriesEveryMessageKind()
    {
        var call = new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" });
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "Be brief."),
            new(ChatRole.User, [new TextContent("What is "), new TextContent("this?"), new UriContent(new Uri("https://example.com/cat.png"), "image/*")]) { AuthorName = "ann" },
            new(ChatRole.Assistant, [call]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "{\"temp\":21}")]),
            new(ChatRole.User, [new TextContent("part "), new TextContent("two")]),
        };

        var root = Request(messages);
        var wire = root.GetProperty("messages");

        Assert.Equal("upstream-model", root.GetProperty("model").GetString());
        Assert.Equal(5, wire.GetArrayLength());
        Assert.Equal("system", wire[0].GetProperty("role").GetString());
        Assert.Equal("Be brief.", wire[0].GetProperty("content").GetString());

        Assert.Equal("ann", wire[1].GetProperty("name").GetString());
        var parts = wire[1].GetProperty("content");
        Assert.Equal("text", parts[0].GetProperty("type").GetString());
        Assert.Equal("this?", parts[1].GetProperty("text").GetString());
        Assert.Equal("https://example.com/cat.png", parts[2].GetProperty("image_url").GetProperty("url").GetString());

        Assert.Equal(JsonValueKind.Null, wire[2].GetProperty("content").ValueKind);
        var toolCall = wire[2].GetProperty("tool_calls")[0];
        Assert.Equal("call_1", toolCall.GetProperty("id").GetString());
        Assert.Equal("get_weather", toolCall.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("Paris", JsonDocument.Parse(toolCall.GetProperty("function").GetProperty("arguments").GetString()!).RootElement.GetProperty("city").GetString());

        Assert.Equal("tool", wire[3].GetProperty("role").GetString());
        Assert.Equal("call_1", wire[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("{\"temp\":21}", wire[3].GetProperty("content").GetString());

        Assert.Equal(["part ", "two"], wire[4].GetProperty("content").EnumerateArray().Select(p => p.GetProperty("text").GetString()));
        Assert.False(root.TryGetProperty("stream", out _));
    }

    [Fact]
    public void WriteRequest_CarriesEveryOption_AndAsksStreamsForUsage()
    {
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"answer":{"type":"string"}}}""");
        var options = new ChatOptions
        {
            Temperature = 0.25f,
            TopP = 0.5f,
            FrequencyPenalty = 0.1f,
            PresencePenalty = -0.2f,
            MaxOutputTokens = 77,
            Seed = 42,
            StopSequences = ["END", "STOP"],
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement, "answer", "The answer"),
            Tools = [AIFunctionFactory.CreateDeclaration("lookup", "Looks up", schema.RootElement)],
            ToolMode = ChatToolMode.RequireSpecific("lookup"),
        };

        var root = Request([new ChatMessage(ChatRole.User, "hi")], options, stream: true);

        Assert.Equal(0.25, root.GetProperty("temperature").GetDouble(), 5);
        Assert.Equal(0.5, root.GetProperty("top_p").GetDouble(), 5);
        Assert.Equal(0.1, root.GetProperty("frequency_penalty").GetDouble(), 5);
        Assert.Equal(-0.2, root.GetProperty("presence_penalty").GetDouble(), 5);
        Assert.Equal(77, root.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal(42, root.GetProperty("seed").GetInt64());
        Assert.Equal(["END", "STOP"], root.GetProperty("stop").EnumerateArray().Select(s => s.GetString()));
        var format = root.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("answer", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("string", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("answer").GetProperty("type").GetString());
        var tool = root.GetProperty("tools")[0];
        Assert.Equal("function", tool.GetProperty("type").GetString());
        Assert.Equal("lookup", tool.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("object", tool.GetProperty("function").GetProperty("parameters").GetProperty("type").GetString());
        Assert.Equal("lookup", root.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Theory]
    [InlineData("none", "none")]
    [InlineData("auto", "auto")]
    [InlineData("required", "required")]
    public void WriteRequest_ToolChoiceModes(string mode, string expected)
    {
        ChatToolMode toolMode = mode switch { "none" => ChatToolMode.None, "auto" => ChatToolMode.Auto, _ => ChatToolMode.RequireAny };
        using var schema = JsonDocument.Parse("""{"type":"object"}""");
        var root = Request(
            [new ChatMessage(ChatRole.User, "hi")],
            new ChatOptions { ToolMode = toolMode, ResponseFormat = ChatResponseFormat.Json, Tools = [AIFunctionFactory.CreateDeclaration("f", null, schema.RootElement)] });

        Assert.Equal(expected, root.GetProperty("tool_choice").GetString());
        Assert.Equal("json_object", root.GetProperty("response_format").GetProperty("type").GetString());
    }

    [Fact]
    public void ReadResponse_TextUsageAndCachedTokens()
    {
        var response = OpenAiWire.ReadResponse(Encoding.UTF8.GetBytes("""
            {"id":"chatcmpl-9","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},"finish_reason":"length"}],
             "usage":{"prompt_tokens":30,"completion_tokens":4,"total_tokens":34,"prompt_tokens_details":{"cached_tokens":12}}}
            """));

        Assert.Equal("Hi there", response.Text);
        Assert.Equal("chatcmpl-9", response.ResponseId);
        Assert.Equal("gpt-x", response.ModelId);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(30, response.Usage!.InputTokenCount);
        Assert.Equal(4, response.Usage.OutputTokenCount);
        Assert.Equal(12, response.Usage.CachedInputTokenCount);
    }

    [Fact]
    public void ReadResponse_ToolCalls_KeepTheProvidersArgumentsVerbatim()
    {
        var response = OpenAiWire.ReadResponse(Encoding.UTF8.GetBytes("""
            {"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\": 1.50}"}},
              {"id":"call_b","type":"function","function":{"name":"g","arguments":"{not json"}}]},"finish_reason":"tool_calls"}]}
            """));

        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        Assert.Equal(["call_a", "call_b"], calls.Select(c => c.CallId));
        Assert.Equal("{\"x\": 1.50}", OpenAiWire.ArgumentsJson(calls[0]));
        Assert.NotNull(calls[0].Arguments);
        Assert.Equal("{not json", OpenAiWire.ArgumentsJson(calls[1]));
        Assert.NotNull(calls[1].Exception);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        Assert.Null(response.Usage);
        Assert.Equal("", response.Text);
    }

    [Theory]
    [InlineData("<html>nope")]
    [InlineData("[]")]
    [InlineData("""{"choices":[]}""")]
    [InlineData("""{"error":{"message":"x"}}""")]
    public void ReadResponse_RefusesAnswersWithoutAChoice(string body)
    {
        var error = Record.Exception(() => OpenAiWire.ReadResponse(Encoding.UTF8.GetBytes(body)));
        Assert.True(error is JsonException or InvalidDataException, error?.GetType().Name);
    }

    [Fact]
    public void StreamReader_PassesTextOn_AndAssemblesFragmentedToolCalls()
    {
        var reader = new OpenAiWire.StreamReader();
        ChatResponseUpdate? Read(string json) => reader.Read(Encoding.UTF8.GetBytes(json));

        var first = Read("""{"id":"s","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me check"},"finish_reason":null}]}""");
        Assert.Equal("Let me check", first!.Text);
        Assert.Null(first.FinishReason);

        // Fragments give empty updates (they still prove the provider is alive); the calls come whole at the end.
        Assert.Empty(Read("""{"id":"s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}""")!.Contents);
        Assert.Empty(Read("""{"id":"s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""")!.Contents);
        Assert.Empty(Read("""{"id":"s","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","function":{"name":"time","arguments":"{}"}}]},"finish_reason":null}]}""")!.Contents);
        Assert.Empty(Read("""{"id":"s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}""")!.Contents);

        var finish = Read("""{"id":"s","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");
        Assert.Equal(ChatFinishReason.ToolCalls, finish!.FinishReason);
        var calls = finish.Contents.OfType<FunctionCallContent>().ToList();
        Assert.Equal(["call_1", "call_2"], calls.Select(c => c.CallId));
        Assert.Equal(["weather", "time"], calls.Select(c => c.Name));
        Assert.Equal("{\"city\":\"Paris\"}", OpenAiWire.ArgumentsJson(calls[0]));

        var usage = Read("""{"id":"s","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}""");
        var details = Assert.Single(usage!.Contents.OfType<UsageContent>()).Details;
        Assert.Equal(9, details.InputTokenCount);
        Assert.Equal(3, details.OutputTokenCount);
        Assert.Null(reader.Complete());
    }

    [Fact]
    public void StreamReader_FlushesOpenToolCalls_WhenTheStreamEndsWithoutAFinishReason()
    {
        var reader = new OpenAiWire.StreamReader();
        reader.Read("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}"""u8);

        var last = reader.Complete();
        var call = Assert.Single(last!.Contents.OfType<FunctionCallContent>());
        Assert.Equal("{\"a\":1}", OpenAiWire.ArgumentsJson(call));
        Assert.Equal(ChatFinishReason.ToolCalls, last.FinishReason);
    }

    [Theory]
    [InlineData("""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}]}""")]
    [InlineData("""{"id":"c1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":null}""")]
    [InlineData("""{"id":"c1","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":40,"total_tokens":61,"prompt_tokens_details":{"cached_tokens":5,"audio_tokens":0}}}""")]
    [InlineData("""{"id":"c1","choices":[],"usage":{"prompt_tokens":1.5,"completion_tokens":"2","total_tokens":99999999999999999999,"prompt_tokens_details":[]}}""")]
    [InlineData("""{"id":{"odd":[1,{"x":2}]},"model":7,"choices":{"index":0},"extra":[{"a":[]}]}""")]
    [InlineData("""{"id":"a","id":"b","model":"x\u00e9\"y","choices":[{"delta":{"content":"one","content":"two"},"finish_reason":"length","finish_reason":"  "}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}],"choices":[{"delta":{"content":"b"}}]}""")]
    [InlineData("""{"choices":[{"delta":{"content":{"text":"no"},"tool_calls":null,"reasoning_content":"hmm"},"finish_reason":"content_filter"},{"delta":{"content":"second"}}]}""")]
    [InlineData("""{"choices":[{"delta":[1,2],"finish_reason":"tool_calls"}],"usage":{"completion_tokens":3}}""")]
    [InlineData("""{"choices":[{"delta":{"content":"x"},"finish_reason":"something_new"}],"error":null}""")]
    [InlineData("""{"choices":[{"delta":{"content":"Zürich 東京 \ud83d\ude00"},"finish_reason":7}]} trailing""")]
    public void StreamReader_OnePassRead_GivesTheSameUpdateAsTheDocumentRead(string json)
    {
        var data = Encoding.UTF8.GetBytes(json);

        var fast = new OpenAiWire.StreamReader().Read(data);
        var document = new OpenAiWire.StreamReader().ReadDocument(data);

        Assert.Equal(document.Text, fast.Text);
        Assert.Equal(document.FinishReason, fast.FinishReason);
        Assert.Equal(document.ResponseId, fast.ResponseId);
        Assert.Equal(document.ModelId, fast.ModelId);
        Assert.Equal(document.Role, fast.Role);
        Assert.Equal(document.Contents.Select(c => c.GetType()), fast.Contents.Select(c => c.GetType()));
        var a = document.Contents.OfType<UsageContent>().SingleOrDefault()?.Details;
        var b = fast.Contents.OfType<UsageContent>().SingleOrDefault()?.Details;
        Assert.Equal(
            (a?.InputTokenCount, a?.OutputTokenCount, a?.TotalTokenCount, a?.CachedInputTokenCount),
            (b?.InputTokenCount, b?.OutputTokenCount, b?.TotalTokenCount, b?.CachedInputTokenCount));
    }

    [Fact]
    public void StreamReader_ChunksRepeatingTheLastOnesStart_GiveTheSameUpdatesAsTheDocumentRead()
    {
        const string start = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp","choices":""";
        string[] chunks =
        [
            start + """[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            start + """[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}""",
            start + """ [{"index":0,"delta":{"content":" there"},"finish_reason":null}] } trailing""",
            start + """[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"model":"other"}""",
            start + """[{"index":0,"delta":{"content":"y"}}],"usage":{"prompt_tokens":2}}""",
            """{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"delta":{"content":"new id"}}]}""",
            """{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"delta":{"content":"again"}}]}""",
            start + """[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}""",
            start + """[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
            start + """[{"index":0,"delta":{"content":"z"},"finish_reason":"stop"}]}""",
            start + """[],"usage":{"prompt_tokens":21,"completion_tokens":40,"total_tokens":61}}""",
        ];

        var reader = new OpenAiWire.StreamReader();
        var reference = new OpenAiWire.StreamReader();
        foreach (var chunk in chunks)
        {
            var data = Encoding.UTF8.GetBytes(chunk);
            var (fast, document) = (reader.Read(data), reference.ReadDocument(data));

            Assert.Equal(document.Text, fast.Text);
            Assert.Equal(document.FinishReason, fast.FinishReason);
            Assert.Equal(document.ResponseId, fast.ResponseId);
            Assert.Equal(document.ModelId, fast.ModelId);
            Assert.Equal(document.Contents.Select(c => c.GetType()), fast.Contents.Select(c => c.GetType()));
            Assert.Equal(
                document.Contents.OfType<UsageContent>().Select(u => (u.Details.InputTokenCount, u.Details.OutputTokenCount)),
                fast.Contents.OfType<UsageContent>().Select(u => (u.Details.InputTokenCount, u.Details.OutputTokenCount)));
        }

        // A chunk cut short after a start like the last one's is refused like any other.
        Assert.ThrowsAny<JsonException>(() => reader.Read(Encoding.UTF8.GetBytes(start + """[{"index":0,"delta":{"content":"cut""")));
        Assert.ThrowsAny<JsonException>(() => reader.Read(Encoding.UTF8.GetBytes(start + """[{"index":0,"delta":{"content":"cut"}}]""")));
    }

    [Fact]
    public void StreamReader_ChunksOfTextInTheLastOnesSurroundings_GiveTheSameTextAsTheDocumentRead_WhateverTheString()
    {
        const string start = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":""";
        static string Text(string json) => start + """[{"index":0,"delta":{"content":""" + json + """},"logprobs":null,"finish_reason":null}]}""";
        byte[][] chunks =
        [
            Encoding.UTF8.GetBytes(Text("\"first\"")),
            Encoding.UTF8.GetBytes(Text("\" second\"")),
            Encoding.UTF8.GetBytes(Text("\"\"")),
            Encoding.UTF8.GetBytes(Text("\"héllo 世界 🎉\"")),
            Encoding.UTF8.GetBytes(Text("\"say \\\"hi\\\"\"")),
            Encoding.UTF8.GetBytes(Text("\"line\\nbreak \\u00e9\"")),
            Encoding.UTF8.GetBytes(Text("\"a\"")).Concat(Encoding.UTF8.GetBytes(" ")).ToArray(),
            Encoding.UTF8.GetBytes(start + """[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":"stop"}]}"""),
            Encoding.UTF8.GetBytes(start + """[{"index":0,"delta":{"content":"x","content":"last wins"},"logprobs":null,"finish_reason":null}]}"""),
            Encoding.UTF8.GetBytes(Text("\"back to plain\"")),
        ];

        var reader = new OpenAiWire.StreamReader();
        var reference = new OpenAiWire.StreamReader();
        foreach (var data in chunks)
        {
            var (fast, document) = (reader.Read(data), reference.ReadDocument(data));
            Assert.Equal(document.Text, fast.Text);
            Assert.Equal(document.FinishReason, fast.FinishReason);
            Assert.Equal(document.ResponseId, fast.ResponseId);
            Assert.Equal(document.ModelId, fast.ModelId);
        }

        // In the same surroundings: a raw control character or a string that does not end is refused, as the parser refuses it.
        Assert.ThrowsAny<JsonException>(() => reader.Read(Encoding.UTF8.GetBytes(Text("\"tab\there\""))));
        Assert.ThrowsAny<JsonException>(() => reader.Read(Encoding.UTF8.GetBytes(Text("\"open\"\""))));
        Assert.ThrowsAny<Exception>(() => reader.Read([.. Encoding.UTF8.GetBytes(start + """[{"index":0,"delta":{"content":"bad"""), 0xC3, 0x28,
            .. Encoding.UTF8.GetBytes("\"},\"logprobs\":null,\"finish_reason\":null}]}")]));
    }

    [Fact]
    public void StreamReader_FinishReasonAfterToolCallFragments_CarriesTheCalls_AlsoOnTheOnePassRead()
    {
        var reader = new OpenAiWire.StreamReader();
        reader.Read("""{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]}"""u8);

        var finish = reader.Read("""{"id":"x","choices":[{"delta":{"content":"done"},"finish_reason":"tool_calls"}]}"""u8);

        Assert.Equal("done", finish.Text);
        Assert.Equal("c", Assert.Single(finish.Contents.OfType<FunctionCallContent>()).CallId);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("{\"choices\":")]
    [InlineData("{\"choices\":[{\"delta\":{\"content\":\"a\"}}]")]
    [InlineData("{\"id\":\"a\",}")]
    public void StreamReader_RefusesErrorsAndGarbage(string json)
    {
        var reader = new OpenAiWire.StreamReader();
        var error = Record.Exception(() => reader.Read(Encoding.UTF8.GetBytes(json)));
        Assert.True(error is JsonException or InvalidDataException, error?.GetType().Name);
    }

    [Fact]
    public void WriteRequest_SendsToolChoiceOnlyWithTools_AndKeepsNonAsciiText()
    {
        var root = Request([new ChatMessage(ChatRole.User, "Zürich, 東京 <b>&</b>")], new ChatOptions { ToolMode = ChatToolMode.Auto, Tools = [] });

        Assert.False(root.TryGetProperty("tool_choice", out _));
        Assert.False(root.TryGetProperty("tools", out _));
        var buffer = new ArrayBufferWriter<byte>();
        OpenAiWire.WriteRequest(buffer, "m", [new ChatMessage(ChatRole.User, "Zürich, 東京")], null, stream: false);
        Assert.Contains("Zürich, 東京", Encoding.UTF8.GetString(buffer.WrittenSpan), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, false, "max_completion_tokens")]
    [InlineData(null, true, "max_tokens")]
    [InlineData("max_tokens", false, "max_tokens")]
    [InlineData("max_completion_tokens", true, "max_completion_tokens")]
    public void WriteRequest_NamesTheOutputLimitAsTheCallerDid_ElseAsTheProviderExpects(string? named, bool azure, string expected)
    {
        var options = new ChatOptions { MaxOutputTokens = 12 };
        if (named is not null)
        {
            options.AdditionalProperties = new() { [OpenAiWire.MaxTokensFieldProperty] = named };
        }

        var root = Request([new ChatMessage(ChatRole.User, "hi")], options, azure: azure);

        Assert.Equal(12, root.GetProperty(expected).GetInt32());
        Assert.Equal(1, root.EnumerateObject().Count(p => p.Name.StartsWith("max_", StringComparison.Ordinal)));
    }

    [Fact]
    public void WriteRequest_Azure_OmitsStreamOptionsOnlyForImageRequests()
    {
        var image = new ChatMessage(ChatRole.User, [new TextContent("what?"), new UriContent(new Uri("https://example.com/a.png"), "image/*")]);

        Assert.False(Request([image], stream: true, azure: true).TryGetProperty("stream_options", out _));
        Assert.True(Request([image], stream: true, azure: false).TryGetProperty("stream_options", out _));
        Assert.True(Request([new ChatMessage(ChatRole.User, "hi")], stream: true, azure: true).TryGetProperty("stream_options", out _));
    }

    [Fact]
    public void WriteRequest_ForwardsAClientsToolArgumentsVerbatim()
    {
        var call = new FunctionCallContent("c", "f", new Dictionary<string, object?> { ["city"] = "Zürich" })
        {
            AdditionalProperties = new() { [OpenAiWire.RawArgumentsProperty] = "{ \"city\" : \"Zürich\" }" },
        };
        var root = Request([new ChatMessage(ChatRole.Assistant, [call])]);

        Assert.Equal("{ \"city\" : \"Zürich\" }", root.GetProperty("messages")[0].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public void StreamReader_JoinsFragmentsWithoutAnIndex_DropsNamelessCalls_AndIgnoresAnEmptyFinishReason()
    {
        var reader = new OpenAiWire.StreamReader();
        reader.Read("""{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\""}}]},"finish_reason":""}]}"""u8);
        reader.Read("""{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"""u8);
        reader.Read("""{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"""u8);
        reader.Read("""{"choices":[{"delta":{"tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}}]}"""u8);

        var finish = reader.Read("""{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"""u8);

        var calls = finish.Contents.OfType<FunctionCallContent>().ToList();
        Assert.Equal(["a", "b"], calls.Select(c => c.CallId));
        Assert.Equal("{\"x\":1}", OpenAiWire.ArgumentsJson(calls[0]));
    }

    [Theory]
    [InlineData("""{"error":{"message":"too long","type":"invalid_request_error"}}""", 400)]
    [InlineData("""{"error":{"message":"slow down","code":429}}""", 429)]
    [InlineData("""{"error":{"message":"bad key","code":"401"}}""", 401)]
    [InlineData("""{"error":{"message":"overloaded"}}""", 500)]
    public void StreamReader_ErrorObjects_CarryTheStatusTheyStandFor(string json, int status)
    {
        var reader = new OpenAiWire.StreamReader();
        var error = Assert.Throws<ProviderStreamException>(() => reader.Read(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(status, error.Status);
    }

    [Fact]
    public void PromptSize_FitsSmallPromptsWithoutCounting_AndCountsLongOnes()
    {
        var shortPrompt = new Platform.Providers.Tokens.TokenCounter.PromptSize([new ChatMessage(ChatRole.User, "hello there")]);
        Assert.True(shortPrompt.Fits(null));
        Assert.True(shortPrompt.Fits(100));

        // 300 CJK characters are 900 UTF-8 bytes: above a 500-token window by the byte bound, so they get counted.
        var text = new string('東', 300);
        var tokens = Platform.Providers.Tokens.TokenCounter.Count(text) + 6;
        var cjk = new Platform.Providers.Tokens.TokenCounter.PromptSize([new ChatMessage(ChatRole.User, text)]);
        Assert.True(tokens < 900);
        Assert.True(cjk.Fits(tokens));
        Assert.False(cjk.Fits(tokens - 1));
        Assert.False(cjk.Fits(5));

        var tools = new Platform.Providers.Tokens.TokenCounter.PromptSize(
            [new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c", string.Join(' ', Enumerable.Repeat("result", 200)))])]);
        Assert.False(tools.Fits(100));
        Assert.True(tools.Fits(300));
    }

    [Fact]
    public void WriteRequest_PassesUninterpretedFieldsThrough_ButNeverOverridesItsOwn()
    {
        using var fields = JsonDocument.Parse("""{"reasoning_effort":"high","logprobs":true,"model":"evil","Model":"evil","stream":true,"messages":[],"service_tier":"priority","store":true}""");
        var passThrough = fields.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        var options = new ChatOptions
        {
            AdditionalProperties = new()
            {
                [OpenAiWire.PassThroughProperty] = (IReadOnlyDictionary<string, JsonElement>)passThrough,
                [OpenAiWire.UserProperty] = "end-user-7",
            },
        };

        var buffer = new ArrayBufferWriter<byte>();
        OpenAiWire.WriteRequest(buffer, "upstream-model", [new ChatMessage(ChatRole.User, "hi")], options, stream: false);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var root = document.RootElement;

        Assert.Equal("high", root.GetProperty("reasoning_effort").GetString());
        Assert.True(root.GetProperty("logprobs").GetBoolean());
        Assert.Equal("end-user-7", root.GetProperty("user").GetString());
        Assert.Equal(1, root.EnumerateObject().Count(p => p.Name == "model"));
        Assert.Equal("upstream-model", root.GetProperty("model").GetString());
        Assert.False(root.TryGetProperty("stream", out _));
        Assert.Equal(1, root.GetProperty("messages").GetArrayLength());
        Assert.False(root.TryGetProperty("Model", out _));
        Assert.False(root.TryGetProperty("service_tier", out _));
        Assert.False(root.TryGetProperty("store", out _));
    }
}
