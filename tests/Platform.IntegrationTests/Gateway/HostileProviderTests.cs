using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Gateway;

/// <summary>
/// A compromised or buggy OpenAI-compatible provider (see FakeOpenAiServer.Hostile.cs): whatever it sends, the caller gets
/// an OpenAI-shaped answer in words (never a .NET type name, never a 500), the gateway's memory stays bounded, and the
/// upstream key never comes back.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class HostileProviderTests(GatewayFixture fixture)
{
    private const string UpstreamKey = "sk-upstream-secret-never-logged";

    private HttpClient Client() => fixture.Host.ClientWithKey(TestEnvironment.DemoKey);

    private static StringContent Body(string model, bool stream) => new(
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Say hello"}],"stream":{{(stream ? "true" : "false")}}}""", Encoding.UTF8, "application/json");

    private static List<JsonElement> Events(string sse, out bool done)
    {
        var events = new List<JsonElement>();
        done = false;
        foreach (var line in sse.Split('\n'))
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = line["data: ".Length..];
                done |= data == "[DONE]";
                if (data != "[DONE]")
                {
                    using var doc = JsonDocument.Parse(data);
                    events.Add(doc.RootElement.Clone());
                }
            }
        }

        return events;
    }

    private static string Text(List<JsonElement> events) => string.Concat(events
        .Where(e => e.TryGetProperty("choices", out var c) && c.GetArrayLength() > 0)
        .Select(e => e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));

    /// <summary>An error message a caller can read: words, not an exception's type name, and nothing of the upstream key.</summary>
    private static void AssertInWords(string message)
    {
        Assert.DoesNotContain("Exception", message, StringComparison.Ordinal);
        Assert.DoesNotContain(UpstreamKey, message, StringComparison.Ordinal);
        Assert.Matches("^[A-Z][^{}]+ [a-z]+", message);
    }

    [Fact]
    public async Task TextWithEscapesRawUtf8AndASwitchedId_AfterTheFastPathLearnedItsSurroundings_ArrivesExact_ThroughTheOpenAiSdk()
    {
        var chat = fixture.OpenAiClient(TestEnvironment.DemoKey).GetChatClient("escapes");
        var text = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal(FakeOpenAiServer.EscapesText, text.ToString());
    }

    [Theory]
    [InlineData("invalid-utf8")]
    [InlineData("lone-surrogate")]
    [InlineData("raw-control")]
    [InlineData("error-after-text")]
    public async Task UnreadableTextOrAnErrorAfterSomeText_EndsTheStreamWithAnErrorEventInWords_AfterTheTextItHad(string model)
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body(model, stream: true));
        var sse = await response.Content.ReadAsStringAsync();
        var events = Events(sse, out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(done);
        Assert.Equal("Hello plain more", Text(events));
        var error = events[^1].GetProperty("error");
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        AssertInWords(error.GetProperty("message").GetString()!);
        Assert.DoesNotContain(UpstreamKey, sse, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    [InlineData("gzip")]
    [InlineData("huge-body")]
    [InlineData("huge-error")]
    [InlineData("redirect")]
    public async Task AnAnswerThatCannotBeRead_Is502InWords(string model)
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body(model, stream: false));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        AssertInWords(error.GetProperty("message").GetString()!);
        Assert.DoesNotContain("connection failed", error.GetProperty("message").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARedirect_IsNotFollowed()
    {
        var before = fixture.Upstream.Calls.GetValueOrDefault("elsewhere");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body("redirect", stream: true));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(before, fixture.Upstream.Calls.GetValueOrDefault("elsewhere"));
    }

    [Theory]
    [InlineData("json-for-stream")]
    [InlineData("huge-event")]
    public async Task AStreamThatIsNotServerSentEventsOrHasAnEventOverTheLimit_Is502InWords(string model)
    {
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body(model, stream: true));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        AssertInWords(json.RootElement.GetProperty("error").GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task AnEventEndedByCarriageReturns_IsPassedOnAtOnce_NotHeldUntilTheProviderSendsMore()
    {
        // The provider sends one event ending "\r\r", then nothing: the route times out after 1 s of silence. Held back
        // waiting for a possible "\n", the event never becomes an update and the caller gets a 504 instead of its text.
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body("cr-only", stream: true));
        var events = Events(await response.Content.ReadAsStringAsync(), out _);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello", Text(events));
        Assert.Equal("upstream_timeout", events[^1].GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AProviderThatNeverStopsSendingText_IsCutOffAtTheBound_WithAnErrorEventInWords()
    {
        // 64 events of 1 MB of text each: the gateway holds a stream's text (to count its tokens), so without
        // a bound a provider that never stops grows the gateway's memory for as long as the client reads.
        var before = fixture.Upstream.Aborted.GetValueOrDefault("flood");
        using var client = Client();
        using var response = await client.PostAsync("/v1/chat/completions", Body("flood", stream: true));
        var events = Events(await response.Content.ReadAsStringAsync(), out var done);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(done);
        Assert.InRange(Text(events).Length, 1, Platform.Silo.Apis.GatewayApi.MaxStreamTextChars);
        var error = events[^1].GetProperty("error");
        Assert.Equal("upstream_error", error.GetProperty("code").GetString());
        AssertInWords(error.GetProperty("message").GetString()!);
        Assert.True(await Poll.UntilAsync(
            () => Task.FromResult(fixture.Upstream.Aborted.GetValueOrDefault("flood") > before), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AClientThatHangsUpMidStream_EndsTheProviderCall()
    {
        var before = fixture.Upstream.Aborted.GetValueOrDefault("endless");
        using var client = Client();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body("endless", stream: true) })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.True(await stream.ReadAsync(buffer) > 0);
        }

        Assert.True(await Poll.UntilAsync(
            () => Task.FromResult(fixture.Upstream.Aborted.GetValueOrDefault("endless") > before), TimeSpan.FromSeconds(10)));
    }
}
