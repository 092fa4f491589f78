using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Gateway;

[Collection(GatewayCollection.Name)]
public sealed class ChatCompletionsTests(GatewayFixture fixture)
{
    private HttpClient Client() => fixture.Host.ClientWithKey(TestEnvironment.DemoKey);

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Body(string model, bool stream = false, string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"stream":{{(stream ? "true" : "false")}}{{extra}}}""";

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("error").Clone();
    }

    private static List<JsonElement> Events(string sse, out bool done)
    {
        var events = new List<JsonElement>();
        done = false;
        foreach (var line in sse.Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }

            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }

            using var doc = JsonDocument.Parse(data);
            events.Add(doc.RootElement.Clone());
        }

        return events;
    }

    [Fact]
    public async Task NonStreaming_ThroughOpenAiSdk_ReturnsUpstreamTextUsageAndCost()
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient("ok");

        ClientResult<ChatCompletion> result = await chat.CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("Hello from ok", result.Value.Content[0].Text);
        Assert.Equal(11, result.Value.Usage.InputTokenCount);
        Assert.Equal(5, result.Value.Usage.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Stop, result.Value.FinishReason);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-platform-route", out var route) && route == "ok");
        Assert.True(headers.TryGetValue("x-platform-cost-usd", out var cost));
        Assert.Equal((11 * 1m + 5 * 2m) / 1_000_000m, decimal.Parse(cost!, CultureInfo.InvariantCulture));
        Assert.True(headers.TryGetValue("x-request-id", out _));
    }

    [Fact]
    public async Task Streaming_ThroughOpenAiSdk_ConcatenatesChunksAndReportsUsage()
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient("ok");
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal("Hello from the fake", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(15, usage.TotalTokenCount);
    }

    [Fact]
    public async Task StreamWithoutUpstreamUsage_CountsTokensItself_SoCostIsNeverZero()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("no-usage", stream: true, ",\"stream_options\":{\"include_usage\":true}")));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(done);
        var last = events[^1];
        Assert.True(last.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        Assert.True(last.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        Assert.True(last.GetProperty("platform").GetProperty("usage_estimated").GetBoolean());
        Assert.True(last.GetProperty("platform").GetProperty("cost_usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task RateLimitedOnce_IsRetriedAndSucceeds()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("flaky")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", Header(response, "x-platform-attempts"));
        Assert.Equal(2, fixture.Upstream.Calls[fixture.FlakyUpstream]);
    }

    [Fact]
    public async Task UpstreamServerError_IsRetriedThen502OpenAiShaped()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("error-500");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("broken")));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_error", (await ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(3, fixture.Upstream.Calls["error-500"] - before);
    }

    [Fact]
    public async Task UpstreamServerError_FallsBackToTheNextRoute()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("broken-with-fallback")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sim-small", Header(response, "x-platform-route"));
        Assert.Equal("true", Header(response, "x-platform-fallback"));
    }

    [Fact]
    public async Task StreamFailingBeforeItsFirstChunk_FallsBack()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("broken-with-fallback", stream: true)));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sim-small", Header(response, "x-platform-route"));
        Assert.True(done);
        Assert.True(events.Count > 2);
    }

    [Fact]
    public async Task HangingUpstream_Is504AfterTheRouteTimeout()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("hang")));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream_timeout", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamRejectingTheRequest_Is400NotRetried()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("reject-400");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("rejecting")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("upstream_rejected", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, fixture.Upstream.Calls["reject-400"] - before);
    }

    [Fact]
    public async Task UpstreamRefusingOurCredential_Is502()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("misconfigured", stream: true)));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.DoesNotContain("sk-upstream-secret-never-logged", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GarbageFromUpstream_Is502()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("garbage")));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public async Task StreamBrokenAfterFirstChunk_EndsWithAnErrorEvent()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("cut", stream: true)));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(done);
        Assert.Equal("Hello", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("upstream_error", events[^1].GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("Exception", events[^1].GetProperty("error").GetProperty("message").GetString()!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AProviderNobodyAnswersAt_Is502_InWordsACallerUnderstands(bool stream)
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("unreachable", stream)));
        var error = await ErrorOf(response);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        Assert.Contains("no answer", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AzureOpenAiProvider_CallsTheDeploymentThroughTheAzureSdk()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("azure")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hello from azure-deployment", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(fixture.Upstream.Calls.GetValueOrDefault("azure-deployment") >= 1);
    }

    [Fact]
    public async Task RequestParameters_ArePassedThroughToTheProvider()
    {
        const string extra = """
            ,"temperature":0.25,"top_p":0.5,"max_tokens":77,"stop":["END"],"user":"u-1",
            "response_format":{"type":"json_object"},
            "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
            "tool_choice":"auto","parallel_tool_calls":false,"reasoning_effort":"low","logit_bias":{"50256":-100},
            "service_tier":"priority","Model":"someone-elses","N":5,"store":true
            """;
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("params", extra: extra)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var sent = JsonDocument.Parse(fixture.Upstream.LastBody["params"]);
        var root = sent.RootElement;
        Assert.Equal(0.25, root.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.5, root.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(77, root.GetProperty("max_tokens").GetInt32());
        Assert.False(root.TryGetProperty("max_completion_tokens", out _));
        Assert.Equal("END", root.GetProperty("stop")[0].GetString());
        Assert.Equal("json_object", root.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal("get_weather", root.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("auto", root.GetProperty("tool_choice").GetString());
        Assert.Equal("system", root.GetProperty("messages")[0].GetProperty("role").GetString());
        Assert.Matches("^t[0-9a-f]{8}-u-1$", root.GetProperty("user").GetString());
        Assert.Equal(["model"], root.EnumerateObject().Select(p => p.Name).Where(n => n.Equals("model", StringComparison.OrdinalIgnoreCase)));
        Assert.False(root.TryGetProperty("N", out _));
        Assert.False(root.TryGetProperty("service_tier", out _));
        Assert.False(root.TryGetProperty("store", out _));
        Assert.False(root.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal("low", root.GetProperty("reasoning_effort").GetString());
        Assert.Equal(-100, root.GetProperty("logit_bias").GetProperty("50256").GetInt32());
    }

    [Fact]
    public async Task RetrieveModel_ThroughTheOpenAiSdk_FindsARoute_And404sAnUnknownOne()
    {
        var models = fixture.OpenAiClient(TestEnvironment.DemoKey).GetOpenAIModelClient();

        var model = (await models.GetModelAsync("ok")).Value;
        var error = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync(new string('m', 5000)));

        Assert.Equal("ok", model.Id);
        Assert.Equal("openai", model.OwnedBy);
        Assert.Equal(404, error.Status);
        Assert.True(error.GetRawResponse()!.Content.ToString().Length < 1000, "the unknown name is echoed whole");
    }

    [Theory]
    [InlineData("\"max_tokens\":\"x\"", "max_tokens must be an integer.")]
    [InlineData("\"seed\":1180591620717411303424", "seed must be an integer.")]
    [InlineData("\"temperature\":[1]", "temperature must be a number.")]
    [InlineData("\"stream\":\"yes\"", "stream must be true or false.")]
    public async Task WrongKindsOfScalars_AreDescribedByTheKindTheyTake(string field, string message)
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json("""{"model":"ok","messages":[{"role":"user","content":"hi"}],""" + field + "}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message, (await ErrorOf(response)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task SafetyIdentifierAndPromptCacheKey_AreScopedToTheTenantLikeUser()
    {
        const string extra = ""","user":"u-1","safety_identifier":"person-7","prompt_cache_key":"cache-1" """;
        var other = await fixture.Host.CreateTenantAsync();
        var (_, otherKey) = await fixture.Host.CreateKeyAsync(other, "client");
        var sent = new List<JsonElement>();
        foreach (var key in new[] { TestEnvironment.DemoKey, otherKey })
        {
            using var client = fixture.Host.ClientWithKey(key);
            using var response = await client.PostAsync("/v1/chat/completions", Json(Body("params", extra: extra)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(fixture.Upstream.LastBody["params"]);
            sent.Add(body.RootElement.Clone());
        }

        foreach (var root in sent)
        {
            var prefix = root.GetProperty("user").GetString()![..^"u-1".Length];
            Assert.Matches("^t[0-9a-f]{8}-$", prefix);
            Assert.Equal(prefix + "person-7", root.GetProperty("safety_identifier").GetString());
            Assert.Equal(prefix + "cache-1", root.GetProperty("prompt_cache_key").GetString());
        }

        Assert.NotEqual(sent[0].GetProperty("prompt_cache_key").GetString(), sent[1].GetProperty("prompt_cache_key").GetString());
        Assert.NotEqual(sent[0].GetProperty("safety_identifier").GetString(), sent[1].GetProperty("safety_identifier").GetString());
    }

    [Theory]
    [InlineData("tools")]
    [InlineData("azure-tools")]
    public async Task ToolCalls_FromTheProvider_ReachTheSdkWithTheirArgumentsVerbatim(string model)
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient(model);
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal(["call_weather", "call_time"], completion.ToolCalls.Select(c => c.Id));
        Assert.Equal(FakeOpenAiServer.ToolArguments, completion.ToolCalls[0].FunctionArguments.ToString());
        Assert.Equal("{}", completion.ToolCalls[1].FunctionArguments.ToString());
        Assert.Equal(60, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task StreamedToolCalls_ArriveWhole_WithTheFragmentsJoined()
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient("tools");
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], new ChatCompletionOptions()))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id)
                {
                    ids[call.Index] = id;
                }

                if (call.FunctionName is { } name)
                {
                    names[call.Index] = name;
                }

                (arguments.TryGetValue(call.Index, out var text) ? text : arguments[call.Index] = new StringBuilder()).Append(call.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal("call_weather", ids[0]);
        Assert.Equal("get_weather", names[0]);
        Assert.Equal(FakeOpenAiServer.ToolArguments, arguments[0].ToString());
        Assert.Equal("get_time", names[1]);
        Assert.Equal(60, usage!.TotalTokenCount);
    }

    [Fact]
    public async Task ToolResultsAndImages_AreSentUpstreamInTheOpenAiShape()
    {
        const string body = """
            {"model":"params","messages":[
              {"role":"user","name":"ann","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"cat\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"a cat"}],
             "tool_choice":{"type":"function","function":{"name":"lookup"}},
             "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}
            """;
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var sent = JsonDocument.Parse(fixture.Upstream.LastBody["params"]);
        var messages = sent.RootElement.GetProperty("messages");
        Assert.Equal("ann", messages[0].GetProperty("name").GetString());
        Assert.Equal("https://example.com/cat.png", messages[0].GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString());
        var call = messages[1].GetProperty("tool_calls")[0];
        Assert.Equal("call_1", call.GetProperty("id").GetString());
        Assert.Equal("{\"q\":\"cat\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool", messages[2].GetProperty("role").GetString());
        Assert.Equal("call_1", messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("a cat", messages[2].GetProperty("content").GetString());
        Assert.Equal("lookup", sent.RootElement.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
    }

    [Fact]
    public async Task AStreamThatOnlyThinks_LongerThanTheRouteTimeout_IsNotCutOff()
    {
        // The route times out after 2 s of silence; the provider sends invisible reasoning every 200 ms for 3 s (a wide
        // margin: a loaded test machine must not make a 200 ms gap look like 2 s).
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("thinking", stream: true)));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(done);
        Assert.DoesNotContain(events, e => e.TryGetProperty("error", out _));
        Assert.Equal("Thought it through", string.Concat(events.Select(e =>
            e.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : "").FirstOrDefault())));
    }

    [Fact]
    public async Task AStreamThatStallsLongerThanTheRouteTimeout_EndsWithATimeoutEvent_AfterTheTextItHad()
    {
        // The route times out after 1 s of silence; the provider sends one chunk, then nothing for 30 s.
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("stalling", stream: true)));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(done);
        Assert.Equal("Hello", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal("upstream_timeout", events[^1].GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AnErrorObjectRefusingTheRequestInAStream_Is400AndNotRetried()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("stream-refusal");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("stream-refusal", stream: true)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("upstream_rejected", (await ErrorOf(response)).GetProperty("code").GetString());
        Assert.Equal(before + 1, fixture.Upstream.Calls["stream-refusal"]);
    }

    private static string LongBody(string model) =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{string.Join(' ', Enumerable.Repeat("summarise this paragraph please", 30))}}"}]}""";

    [Fact]
    public async Task APromptLongerThanTheRoutesContextWindow_GoesStraightToAFallbackThatFitsIt()
    {
        var small = fixture.Upstream.Calls.GetValueOrDefault("small-window");
        using var client = Client();

        using var response = await client.PostAsync("/v1/chat/completions", Json(LongBody("small-window")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("wide-window", Header(response, "x-platform-route"));
        Assert.Equal("true", Header(response, "x-platform-fallback"));
        Assert.Equal(small, fixture.Upstream.Calls.GetValueOrDefault("small-window"));

        using var shortPrompt = await client.PostAsync("/v1/chat/completions", Json(Body("small-window")));
        Assert.Equal("small-window", Header(shortPrompt, "x-platform-route"));
    }

    [Fact]
    public async Task APromptNoRouteCanHold_Is400ContextLengthExceeded_AndNothingGoesUpstream()
    {
        var before = fixture.Upstream.TotalCalls;
        using var client = Client();

        using var response = await client.PostAsync("/v1/chat/completions", Json(LongBody("small-only")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("longer than 60 tokens", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Upstream.TotalCalls);
    }

    [Fact]
    public async Task ARouteAskingToWaitMinutes_IsNotRetried_TheFallbackServesAtOnce()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("limited");
        using var client = Client();

        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("limited")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", Header(response, "x-platform-route"));
        Assert.Equal("true", Header(response, "x-platform-fallback"));
        Assert.Equal("2", Header(response, "x-platform-attempts"));
        Assert.Equal(before + 1, fixture.Upstream.Calls["limited"]);
    }

    [Theory]
    [InlineData("limited-huge")]
    [InlineData("short-context")]
    public async Task RefusalsAFallbackCanFix_GoToTheFallbackWithoutRetrying(string model)
    {
        var upstream = model == "limited-huge" ? "limited-huge" : "context-400";
        var before = fixture.Upstream.Calls.GetValueOrDefault(upstream);
        using var client = Client();

        using var response = await client.PostAsync("/v1/chat/completions", Json(Body(model)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", Header(response, "x-platform-route"));
        Assert.Equal(before + 1, fixture.Upstream.Calls[upstream]);
    }

    [Fact]
    public async Task ARateLimitedRouteWithoutFallback_Is429WithRetryAfter()
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("limited-alone")));

        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(120), response.Headers.RetryAfter?.Delta);
        Assert.Equal("rate_limit_exceeded", (await ErrorOf(response)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task AProviderRefusingTheContextLength_WithoutFallback_Is400ContextLengthExceeded()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("context-400");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(Body("short-context-alone")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal(before + 1, fixture.Upstream.Calls["context-400"]);
    }

    [Fact]
    public async Task Models_ListsTheCatalogRoutes()
    {
        using var client = Client();
        using var response = await client.GetAsync("/v1/models");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var ids = json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("ok", ids);
        Assert.Contains("sim-small", ids);
        Assert.DoesNotContain("sk-upstream-secret-never-logged", json.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownModel_ThroughOpenAiSdk_Is404ModelNotFound()
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient("no-such-model");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, int, string?> BadRequests() => new()
    {
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}""", 400, "messages[1]" },
        { """{"model":"ok","messages":"hello"}""", 400, "messages" },
        { """{"model":"ok","messages":[]}""", 400, "messages" },
        { """{"messages":[{"role":"user","content":"hi"}]}""", 400, "model" },
        { """{"model":"ok","messages":[{"role":"robot","content":"hi"}]}""", 400, "messages[0].role" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"temperature":"warm"}""", 400, "temperature" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"temperature":7}""", 400, "temperature" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"n":3}""", 400, "n" },
        { """{"model":"ok","messages":[{"role":"user","content":42}]}""", 400, "messages[0].content" },
        { """{"model":"ok","messages":[{"role":"tool","content":"x"}]}""", 400, "messages[0].tool_call_id" },
        { """{"model":"unknown-model","messages":[{"role":"user","content":"hi"}]}""", 404, "model" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"response_format":{"type":1}}""", 400, "response_format" },
        { """{"model":"ok","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://x/y.png"}]}]}""", 400, "messages[0].content[0]" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"tool_choice":{"function":"f"}}""", 400, "tool_choice" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"},null]}""", 400, "messages[1]" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"tools":[null]}""", 400, "tools[0]" },
        { """{"model":"ok","messages":[{"role":"assistant","tool_calls":[null]}]}""", 400, "messages[0].tool_calls[0]" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"safety_identifier":{"id":1}}""", 400, "safety_identifier" },
        { """{"model":"ok","messages":[{"role":"user","content":"hi"}],"prompt_cache_key":7}""", 400, "prompt_cache_key" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task InvalidRequest_IsRefusedOpenAiShaped_AndNothingGoesUpstream(string body, int status, string? param)
    {
        var before = fixture.Upstream.TotalCalls;
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Json(body));

        Assert.Equal(status, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(before, fixture.Upstream.TotalCalls);
    }

    [Fact]
    public async Task InvalidUtf8_Is400()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"ok","messages":[{"role":"user","content":"AB"}]}""");
        bytes[^6] = 0xFF;
        bytes[^5] = 0xFE;
        using var client = Client();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("/v1/chat/completions", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task TenMegabyteBody_Is413()
    {
        using var client = Client();
        var huge = """{"model":"ok","messages":[{"role":"user","content":" """ + new string('x', 10 * 1024 * 1024) + "\"}]}";

        using var response = await client.PostAsync("/v1/chat/completions", Json(huge));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
