using Platform.Tenants;

namespace Platform.Budgets;

/// <summary>
/// One budget scope: its limits, its windows' spend, the reservations of requests in flight, and (on the tenant
/// scope) the tenant's index of scopes with limits and the hourly spend rollups of reports. The single writer of
/// all of it: every reservation is decided in one turn, so concurrent requests cannot overspend.
/// Key: <c>{tenant}/{scope}/{id}</c> (<see cref="BudgetKeys"/>).
/// </summary>
[Alias("Platform.Budgets.IBudgetGrain")]
public interface IBudgetGrain : IGrainWithStringKey
{
    /// <summary>Settles, releases and reserves, in that order, and renews the holder's reservations.</summary>
    [Alias("ApplyAsync")]
    Task<BudgetBatchResult> ApplyAsync(BudgetBatch batch);

    [Alias("GetStatusAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<BudgetStatus> GetStatusAsync();

    /// <summary>Sets (or, with null, removes) the scope's limits; spend already counted is kept. Audited.</summary>
    [Alias("SetPolicyAsync")]
    Task<BudgetStatus> SetPolicyAsync(BudgetPolicy? policy, Actor actor);

    /// <summary>Zeroes the spend of every current window (reservations in flight stay). Audited.</summary>
    [Alias("ResetAsync")]
    Task<BudgetStatus> ResetAsync(Actor actor);

    /// <summary>Tenant scope only: which scopes have limits.</summary>
    [Alias("GetIndexAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<BudgetIndex> GetIndexAsync();

    /// <summary>Tenant scope only: records that a scope has (or no longer has) limits of its own.</summary>
    [Alias("SetIndexedAsync")]
    [Idempotent]
    Task<BudgetIndex> SetIndexedAsync(BudgetScope scope, string id, bool limited);

    /// <summary>Tenant scope only: the limits of every end user without limits of their own (null: none). Audited.</summary>
    [Alias("SetDefaultUserPolicyAsync")]
    Task<BudgetIndex> SetDefaultUserPolicyAsync(BudgetPolicy? policy, Actor actor);

    /// <summary>Tenant scope only: hourly spend rollups whose hour is in [from, to).</summary>
    [Alias("GetRollupsAsync")]
    [Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<SpendRollup>> GetRollupsAsync(DateTimeOffset from, DateTimeOffset to);
}

public static class BudgetKeys
{
    public static string Of(string tenantId, BudgetScope scope, string id) => $"{tenantId}/{Name(scope)}/{id}";

    public static string Tenant(string tenantId) => Of(tenantId, BudgetScope.Tenant, tenantId);

    public static string Name(BudgetScope scope) => scope switch
    {
        BudgetScope.Tenant => "tenant",
        BudgetScope.Key => "key",
        BudgetScope.Deployment => "deployment",
        _ => "user",
    };

    /// <summary>Parses <c>{tenant}/{scope}/{id}</c> (the id may contain '/').</summary>
    public static (string TenantId, BudgetScope Scope, string Id) Parse(string key)
    {
        var first = key.IndexOf('/', StringComparison.Ordinal);
        var second = key.IndexOf('/', first + 1);
        var scope = key[(first + 1)..second] switch
        {
            "tenant" => BudgetScope.Tenant,
            "key" => BudgetScope.Key,
            "deployment" => BudgetScope.Deployment,
            "user" => BudgetScope.User,
            var other => throw new ArgumentException($"Unknown budget scope '{other}'.", nameof(key)),
        };
        return (key[..first], scope, key[(second + 1)..]);
    }
}
