using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.RequestLog;

/// <summary>A silo killed with SIGKILL keeps every request log row it had acknowledged (visible through the API) before.</summary>
public sealed class RequestLogRestartTests
{
    private static StringContent Chat() => new(
        """{"model":"sim-small","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

    private static async Task<string[]> IdsAsync(SiloProcess silo, string owner)
    {
        using var response = await silo.Http.SendAsync(SiloProcess.Request(HttpMethod.Get, "/api/v1/requests?limit=1000", owner));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray()
            .Select(r => r.GetProperty("id").GetString()!)];
    }

    [Fact]
    public async Task KilledSilo_RestartedOnTheSameDataDirectory_HasEveryAcknowledgedRow()
    {
        var data = TestEnvironment.NewTempDirectory("platform-reqlog-restart");
        var settings = SiloProcess.EmbeddedSettings(data);
        string owner;
        string[] before;
        await using (var first = SiloProcess.Start(settings))
        {
            await first.WaitReadyAsync(TimeSpan.FromSeconds(90));
            using (var key = await first.Http.SendAsync(SiloProcess.Request(
                HttpMethod.Post, "/api/v1/tenants/demo/keys", TestEnvironment.AdminKey, JsonContent.Create(new { name = "owner", role = "owner" }))))
            {
                owner = JsonDocument.Parse(await key.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
            }

            var sent = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                using var response = await first.Http.SendAsync(SiloProcess.Request(HttpMethod.Post, "/v1/chat/completions", TestEnvironment.DemoKey, Chat()));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                sent.Add(response.Headers.GetValues("x-request-id").Single());
            }

            before = await Poll.UntilAsync(() => IdsAsync(first, owner), ids => ids.Length == sent.Count, TimeSpan.FromSeconds(20));
            Assert.Equal(sent.AsEnumerable().Reverse(), before);
            first.KillHard();
        }

        await using var second = SiloProcess.Start(settings);
        await second.WaitReadyAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(before, await IdsAsync(second, owner));
        await second.TerminateAsync(TimeSpan.FromSeconds(30));
        Directory.Delete(data, recursive: true);
    }
}
