using System.Net;
using System.Net.Http.Json;
using Platform.IntegrationTests.Infrastructure;

namespace Platform.IntegrationTests.Tenants;

/// <summary>
/// For each role, each management endpoint, the caller's own tenant and another tenant: the expected
/// status. Another tenant's objects are 404 (no existence oracle); a wrong role in one's own tenant is 403.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class IsolationMatrixTests(PlatformFactory factory)
{
    private static readonly string[] TenantRoles = ["owner", "operator", "developer", "viewer", "client"];

    public enum Target
    {
        Own,
        Other,
    }

    /// <summary>Endpoint name, method, path template ({t} = target tenant, {k} = a key of the target tenant), body.</summary>
    private static readonly (string Name, string Method, string Path, object? Body, int OkStatus, string[] Allowed)[] Endpoints =
    [
        ("get-tenant", "GET", "/api/v1/tenants/{t}", null, 200, ["owner", "operator", "developer", "viewer"]),
        ("update-tenant", "PATCH", "/api/v1/tenants/{t}", new { displayName = "Renamed" }, 200, ["owner"]),
        ("disable-tenant", "POST", "/api/v1/tenants/{t}/disable", null, 200, []),
        ("list-keys", "GET", "/api/v1/tenants/{t}/keys", null, 200, ["owner"]),
        ("create-key", "POST", "/api/v1/tenants/{t}/keys", new { name = "new", role = "viewer" }, 201, ["owner"]),
        ("revoke-key", "DELETE", "/api/v1/tenants/{t}/keys/{k}", null, 200, ["owner"]),
        ("rotate-key", "POST", "/api/v1/tenants/{t}/keys/{k}/rotate", null, 200, ["owner"]),
        ("read-audit", "GET", "/api/v1/tenants/{t}/audit", null, 200, ["owner"]),
    ];

    public static TheoryData<string, string, Target, int> Cases()
    {
        var data = new TheoryData<string, string, Target, int>();
        foreach (var endpoint in Endpoints)
        {
            foreach (var role in TenantRoles)
            {
                data.Add(endpoint.Name, role, Target.Own, endpoint.Allowed.Contains(role) ? endpoint.OkStatus : 403);
                data.Add(endpoint.Name, role, Target.Other, 404);
            }

            data.Add(endpoint.Name, "admin", Target.Other, endpoint.OkStatus);
        }

        foreach (var role in TenantRoles)
        {
            data.Add("list-tenants", role, Target.Own, 403);
            data.Add("create-tenant", role, Target.Own, 403);
            data.Add("me", role, Target.Own, role == "client" ? 403 : 200);
            data.Add("v1-models", role, Target.Own, 200);
        }

        data.Add("list-tenants", "admin", Target.Own, 200);
        data.Add("create-tenant", "admin", Target.Own, 201);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Endpoint_ForRoleAndTenant_AnswersExpectedStatus(string endpoint, string role, Target target, int expected)
    {
        var own = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync();
        var secret = role == "admin" ? TestEnvironment.AdminKey : (await factory.CreateKeyAsync(own, role)).Secret;
        var targetTenant = target == Target.Own ? own : other;
        var (targetKeyId, _) = await factory.CreateKeyAsync(targetTenant, "viewer");

        using var request = BuildRequest(endpoint, targetTenant, targetKeyId);
        using var client = factory.ClientWithKey(secret);
        using var response = await client.SendAsync(request);

        Assert.True(
            (int)response.StatusCode == expected,
            $"{role} -> {endpoint} on {target} tenant: expected {expected}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        if (expected == 404)
        {
            // Nothing of the other tenant leaks: not its display name, not its keys' names.
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("Tenant " + targetTenant, body, StringComparison.Ordinal);
            Assert.DoesNotContain("viewer key", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OtherTenantThatDoesNotExist_LooksTheSameAsOneThatDoes()
    {
        var own = await factory.CreateTenantAsync();
        var other = await factory.CreateTenantAsync();
        var (_, secret) = await factory.CreateKeyAsync(own, "owner");
        using var client = factory.ClientWithKey(secret);

        using var existing = await client.GetAsync($"/api/v1/tenants/{other}/keys");
        using var missing = await client.GetAsync("/api/v1/tenants/tnosuchtenant/keys");

        Assert.Equal(HttpStatusCode.NotFound, existing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private static HttpRequestMessage BuildRequest(string endpoint, string tenant, string keyId)
    {
        var match = Endpoints.Where(e => e.Name == endpoint).ToList();
        if (match.Count == 1)
        {
            var (_, method, path, body, _, _) = match[0];
            return new HttpRequestMessage(new HttpMethod(method), path.Replace("{t}", tenant).Replace("{k}", keyId))
            {
                Content = body is null ? null : JsonContent.Create(body),
            };
        }

        return endpoint switch
        {
            "list-tenants" => new HttpRequestMessage(HttpMethod.Get, "/api/v1/tenants"),
            "create-tenant" => new HttpRequestMessage(HttpMethod.Post, "/api/v1/tenants")
            {
                Content = JsonContent.Create(new { id = "t" + Guid.NewGuid().ToString("N")[..10], displayName = "New" }),
            },
            "me" => new HttpRequestMessage(HttpMethod.Get, "/api/v1/me"),
            "v1-models" => new HttpRequestMessage(HttpMethod.Get, "/v1/models"),
            _ => throw new ArgumentOutOfRangeException(nameof(endpoint), endpoint, null),
        };
    }
}
