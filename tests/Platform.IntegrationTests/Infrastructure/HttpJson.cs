using System.Text.Json;

namespace Platform.IntegrationTests.Infrastructure;

public static class HttpJson
{
    /// <summary>The response body as a detached JSON element.</summary>
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }
}
