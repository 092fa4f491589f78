using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Deployments;

[Collection(DeploymentsCollection.Name)]
public sealed class WebhookTests(DeploymentsFixture fixture) : IAsyncLifetime
{
    private const string Secret = "webhook-secret-0123456789";
    private readonly ConcurrentQueue<(string Event, string Delivery, string Signature, byte[] Body)> _received = new();
    private int _calls;
    private WebApplication? _receiver;
    private string _url = "";

    public async Task InitializeAsync()
    {
        var port = TestEnvironment.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        _receiver = builder.Build();
        _receiver.MapPost("/hook", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);

            // The very first delivery fails, so the retry path is exercised.
            if (Interlocked.Increment(ref _calls) == 1)
            {
                return Results.StatusCode(500);
            }

            _received.Enqueue((context.Request.Headers["X-Platform-Event"].ToString(), context.Request.Headers["X-Platform-Delivery"].ToString(),
                context.Request.Headers["X-Platform-Signature"].ToString(), buffer.ToArray()));
            return Results.Ok();
        });
        await _receiver.StartAsync();
        _url = $"http://127.0.0.1:{port}/hook";
    }

    public async Task DisposeAsync()
    {
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    [Fact]
    public async Task DeploymentChanges_ArePostedSignedAndRetried_AndTheSecretIsNeverShown()
    {
        var tenant = await fixture.Host.CreateTenantAsync();
        using var owner = fixture.Host.ClientWithKey((await fixture.Host.CreateKeyAsync(tenant, "owner")).Secret);
        using var patch = await owner.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { webhookUrl = _url, webhookSecret = Secret });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        var body = await patch.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        Assert.Contains("\"webhookSecretSet\":true", body, StringComparison.Ordinal);

        await owner.PostAsJsonAsync("/api/v1/deployments", new { name = "hooked", stable = new { modelRoute = "sim-small" } });
        await owner.PostAsJsonAsync("/api/v1/deployments/hooked/canary", new { release = new { modelRoute = "sim-twin" }, weight = 10 });
        await owner.PostAsJsonAsync("/api/v1/deployments/hooked/canary/rollback", new { reason = "not today" });

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (_received.Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var events = _received.ToList();
        Assert.Equal(["canary.started", "canary.rolled_back"], events.Select(e => e.Event));
        Assert.True(_calls >= 3, "the failed first delivery was not retried");
        foreach (var (_, _, signature, payload) in events)
        {
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), payload));
            Assert.Equal(expected, signature);
        }

        using var json = JsonDocument.Parse(events[1].Body);
        Assert.Equal("not today", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal("deployment/hooked", json.RootElement.GetProperty("subject").GetString());
    }

    [Fact]
    public async Task WebhookWithoutSecret_OrNotHttp_IsRefused()
    {
        var tenant = await fixture.Host.CreateTenantAsync();
        using var owner = fixture.Host.ClientWithKey((await fixture.Host.CreateKeyAsync(tenant, "owner")).Secret);

        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { webhookUrl = _url })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { webhookUrl = "file:///etc/passwd", webhookSecret = Secret })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { webhookUrl = _url, webhookSecret = "short" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.PatchAsJsonAsync(
            $"/api/v1/tenants/{tenant}", new { webhookUrl = "https://user:password@hooks.example.com/x", webhookSecret = Secret })).StatusCode);
    }
}
