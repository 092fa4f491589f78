using System.Net;
using System.Net.Http.Json;
using System.Text;
using Platform.IntegrationTests.Infrastructure;
using static Platform.IntegrationTests.Infrastructure.HttpJson;

namespace Platform.IntegrationTests.Tenants;

[Collection(PlatformCollection.Name)]
public sealed class ManagementApiTests(PlatformFactory factory)
{

    [Fact]
    public async Task AdminCreatesTenantAndOwnerKey_AuditLogListsBothWithRequestIds()
    {
        var id = "t" + Guid.NewGuid().ToString("N")[..10];
        using var admin = factory.Admin();

        using var tenant = await admin.PostAsJsonAsync("/api/v1/tenants", new { id, displayName = "Acme" });
        using var key = await admin.PostAsJsonAsync($"/api/v1/tenants/{id}/keys", new { name = "acme owner", role = "owner" });
        Assert.Equal(HttpStatusCode.Created, tenant.StatusCode);
        Assert.Equal(HttpStatusCode.Created, key.StatusCode);
        var secret = (await JsonAsync(key)).GetProperty("secret").GetString()!;

        using var owner = factory.ClientWithKey(secret);
        using var audit = await owner.GetAsync($"/api/v1/tenants/{id}/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
        var entries = (await JsonAsync(audit)).GetProperty("entries").EnumerateArray().ToList();

        Assert.Equal(["tenant.create", "key.create"], entries.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(tenant.Headers.GetValues("x-request-id").Single(), entries[0].GetProperty("requestId").GetString());
        Assert.Equal(key.Headers.GetValues("x-request-id").Single(), entries[1].GetProperty("requestId").GetString());
        Assert.All(entries, e => Assert.Equal("admin", e.GetProperty("actorRole").GetString()));
        Assert.DoesNotContain(secret, await audit.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListKeys_NeverReturnsSecrets()
    {
        var tenant = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateKeyAsync(tenant, "developer");

        using var admin = factory.Admin();
        using var list = await admin.GetAsync($"/api/v1/tenants/{tenant}/keys");
        var body = await list.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"secret\"", body, StringComparison.Ordinal);
        Assert.Contains(secret[..12], body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditLog_HasNoEndpointToEditOrDelete()
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();

        using var delete = await admin.DeleteAsync($"/api/v1/tenants/{tenant}/audit");
        using var put = await admin.PutAsJsonAsync($"/api/v1/tenants/{tenant}/audit", new { });

        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
    }

    [Fact]
    public async Task AuditLog_FiltersByTimeAndPages()
    {
        var tenant = await factory.CreateTenantAsync();
        var before = DateTimeOffset.UtcNow;
        for (var i = 0; i < 3; i++)
        {
            await factory.CreateKeyAsync(tenant, "viewer");
        }

        using var admin = factory.Admin();
        var from = Uri.EscapeDataString(before.ToString("O"));
        using var first = await admin.GetAsync($"/api/v1/tenants/{tenant}/audit?from={from}&limit=2");
        var page = await JsonAsync(first);
        Assert.Equal(2, page.GetProperty("entries").GetArrayLength());
        var next = page.GetProperty("nextAfter").GetInt64();

        using var second = await admin.GetAsync($"/api/v1/tenants/{tenant}/audit?from={from}&limit=2&after={next}");
        var rest = await JsonAsync(second);
        Assert.Equal(1, rest.GetProperty("entries").GetArrayLength());
        Assert.All(
            page.GetProperty("entries").EnumerateArray().Concat(rest.GetProperty("entries").EnumerateArray()),
            e => Assert.Equal("key.create", e.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task CreateTenant_Duplicate_Is409()
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();

        using var again = await admin.PostAsJsonAsync("/api/v1/tenants", new { id = tenant, displayName = "Again" });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("{\"id\":\"tunknownfield\",\"displayName\":\"x\",\"colour\":\"red\"}", "colour")]
    [InlineData("{\"id\":\"tmissing\"}", "displayName")]
    [InlineData("{\"id\":42,\"displayName\":\"x\"}", "\"detail\":\"id must be a string.\"")]
    [InlineData("{\"id\":null,\"displayName\":\"x\"}", "\"field\":\"id\"")]
    [InlineData("{\"id\":\"tbroken\",", "JSON")]
    [InlineData("{\"id\":\"Bad Id\",\"displayName\":\"x\"}", "id")]
    public async Task CreateTenant_WithBadBody_Is400NamingTheProblem(string body, string mention)
    {
        using var admin = factory.Admin();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await admin.PostAsync("/api/v1/tenants", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(mention, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateKey_WithUnknownRole_Is400NamingTheField()
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();

        using var response = await admin.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "x", role = "superuser" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("role", (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task OwnerCannotMintAdminKeys()
    {
        var tenant = await factory.CreateTenantAsync();
        var (_, owner) = await factory.CreateKeyAsync(tenant, "owner");
        using var client = factory.ClientWithKey(owner);

        using var response = await client.PostAsJsonAsync($"/api/v1/tenants/{tenant}/keys", new { name = "x", role = "admin" });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task OwnerOfTheSystemTenant_CannotRotateOrRevokeAnAdminKey()
    {
        using var admin = factory.Admin();
        var adminKeyId = (await JsonAsync(await admin.GetAsync("/api/v1/me"))).GetProperty("keyId").GetString();
        var (_, owner) = await factory.CreateKeyAsync("system", "owner");
        using var client = factory.ClientWithKey(owner);

        using var rotate = await client.PostAsync($"/api/v1/tenants/system/keys/{adminKeyId}/rotate", null);
        using var revoke = await client.DeleteAsync($"/api/v1/tenants/system/keys/{adminKeyId}");

        Assert.Equal(HttpStatusCode.Forbidden, rotate.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/me")).StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://[::1]/hook")]
    public async Task WebhookToAPrivateAddress_IsRefusedByDefault(string url)
    {
        var tenant = await factory.CreateTenantAsync();
        using var admin = factory.Admin();

        using var response = await admin.PatchAsJsonAsync($"/api/v1/tenants/{tenant}", new { webhookUrl = url, webhookSecret = "0123456789abcdef0123" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("webhookUrl", (await JsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task OversizedBody_Is413_OnApiAsProblem_OnV1AsOpenAiError()
    {
        using var admin = factory.Admin();
        using var big = new ByteArrayContent(new byte[2 * 1024 * 1024]);
        big.Headers.ContentType = new("application/json");
        using var api = await admin.PostAsync("/api/v1/tenants", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType?.MediaType);

        using var huge = new ByteArrayContent(new byte[10 * 1024 * 1024]);
        huge.Headers.ContentType = new("application/json");
        using var v1 = await admin.PostAsync("/v1/models", huge);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, v1.StatusCode);
        Assert.Equal("request_too_large", (await JsonAsync(v1)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task NonJsonContentType_Is415()
    {
        using var admin = factory.Admin();
        using var content = new StringContent("id=x", Encoding.UTF8, "application/x-www-form-urlencoded");

        using var response = await admin.PostAsync("/api/v1/tenants", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task UnknownTenant_ForAdmin_Is404()
    {
        using var admin = factory.Admin();
        using var response = await admin.GetAsync("/api/v1/tenants/tdoesnotexist");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
