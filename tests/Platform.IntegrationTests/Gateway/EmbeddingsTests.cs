using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Gateway;

[Collection(GatewayCollection.Name)]
public sealed class EmbeddingsTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Embeddings_ThroughOpenAiSdk_PassThroughToTheProvider()
    {
        var client = fixture.OpenAiClient(TestEnvironment.DemoKey).GetEmbeddingClient("embed");

        var result = await client.GenerateEmbeddingsAsync(["first", "second"]);

        Assert.Equal(2, result.Value.Count);
        Assert.Equal([0.5f, -0.25f, 0.125f], result.Value[1].ToFloats().ToArray());
        Assert.Equal(6, result.Value.Usage.InputTokenCount);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-platform-cost-usd", out var cost));
        Assert.Equal(6 * 0.02m / 1_000_000m, decimal.Parse(cost!, CultureInfo.InvariantCulture));
        Assert.Contains("\"input\":[\"first\",\"second\"]", fixture.Upstream.LastBody["text-embedding-3-small"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 8192)]
    [InlineData(2048, 3072)]
    public async Task ASmallRequestForAHugeResponse_IsRefused(int inputs, int dimensions)
    {
        using var http = fixture.Host.ClientWithKey(TestEnvironment.DemoKey);

        using var response = await http.PostAsJsonAsync("/v1/embeddings", new { model = "sim-embed", input = Enumerable.Repeat("a", inputs).ToArray(), dimensions });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("dimensions", json.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task SimulatedEmbeddings_AreDeterministicUnitVectors_InFloatAndBase64()
    {
        using var http = fixture.Host.ClientWithKey(TestEnvironment.DemoKey);

        using var first = await http.PostAsJsonAsync("/v1/embeddings", new { model = "sim-embed", input = "same text", dimensions = 64 });
        using var second = await http.PostAsJsonAsync("/v1/embeddings", new { model = "sim-embed", input = "same text", dimensions = 64, encoding_format = "base64" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var a = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        using var b = JsonDocument.Parse(await second.Content.ReadAsStringAsync());
        var floats = a.RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var decoded = new float[64];
        Buffer.BlockCopy(Convert.FromBase64String(b.RootElement.GetProperty("data")[0].GetProperty("embedding").GetString()!), 0, decoded, 0, 64 * sizeof(float));
        Assert.Equal(64, floats.Length);
        Assert.Equal(floats, decoded);
        Assert.Equal(1.0, Math.Sqrt(floats.Sum(f => (double)f * f)), 3);
        Assert.True(a.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
    }

    [Theory]
    [InlineData("""{"model":"sim-small","input":"x"}""", "model")]
    [InlineData("""{"model":"sim-embed","input":[]}""", "input")]
    [InlineData("""{"model":"sim-embed","input":[1,2,3]}""", "input")]
    [InlineData("""{"model":"sim-embed","input":"x","encoding_format":"hex"}""", "encoding_format")]
    [InlineData("""{"model":"nope","input":"x"}""", "model")]
    public async Task InvalidEmbeddingRequest_IsRefusedNamingTheParameter(string body, string param)
    {
        using var http = fixture.Host.ClientWithKey(TestEnvironment.DemoKey);
        using var response = await http.PostAsync("/v1/embeddings", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.True((int)response.StatusCode is 400 or 404);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, json.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task EmbeddingModel_OnChatCompletions_Is400()
    {
        using var http = fixture.Host.ClientWithKey(TestEnvironment.DemoKey);
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "sim-embed", messages = new[] { new { role = "user", content = "hi" } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("model_not_supported", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
