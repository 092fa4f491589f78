using System.Globalization;
using Platform.Budgets;
using Platform.Providers.Catalog;
using Platform.Providers.Tokens;
using Platform.Silo.Auth;
using Platform.Silo.Hosting;

namespace Platform.Silo.Gateway;

/// <summary>
/// The budget index of each tenant (which scopes have limits), cached per silo. A change made through any silo is seen
/// here within <see cref="MaxStaleness"/>, sooner when a budget grain answers with a newer version than the one cached.
/// </summary>
public sealed class BudgetIndexCache
{
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(1);

    private readonly IGrainFactory _grains;
    private readonly RefreshingCache<string, BudgetIndex> _cache;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);

    public BudgetIndexCache(IGrainFactory grains, BudgetAgent agent, TimeProvider time)
    {
        _grains = grains;
        _cache = new RefreshingCache<string, BudgetIndex>(time, TimeSpan.FromMilliseconds(400), MaxStaleness, capacity: 100_000);
        agent.IndexVersionSeen += (tenant, version) =>
        {
            if (_versions.TryGetValue(tenant, out var cached) && cached < version)
            {
                _cache.Invalidate(tenant);
            }
        };
    }

    public ValueTask<BudgetIndex> GetAsync(string tenantId) => _cache.GetAsync(tenantId, FetchAsync);

    public void Invalidate(string tenantId) => _cache.Invalidate(tenantId);

    private async Task<BudgetIndex> FetchAsync(string tenantId)
    {
        var index = await _grains.GetGrain<IBudgetGrain>(BudgetKeys.Tenant(tenantId)).GetIndexAsync();
        _versions[tenantId] = index.Version;
        return index;
    }
}

/// <summary>A budget refusal: the 429 (or, when the request can never fit, 400) and the headroom for the response headers.</summary>
public sealed record BudgetRefusal(PlatformException Error, IReadOnlyList<BudgetHeadroom> Headroom, BudgetScope Scope);

/// <summary>
/// A request admitted by its budgets: what it reserved on which scopes. Exactly one of <see cref="Settle"/> or
/// <see cref="Release"/> must follow (the pipeline does it in a finally), or the reservation expires with its holder.
/// </summary>
public sealed class Admission
{
    private readonly BudgetAgent _agent;
    private readonly IReadOnlyList<string> _scopes;
    private readonly IReadOnlyList<LeaseTicket> _leased;
    private readonly bool _tenantCharged;
    private readonly string _tenantKey;
    private readonly string _id;
    private readonly SpendDimensions _dimensions;
    private int _closed;

    internal Admission(BudgetAgent agent, string tenantKey, IReadOnlyList<string> scopes, IReadOnlyList<LeaseTicket> leased, bool tenantCharged,
        string id, SpendDimensions dimensions, BudgetAmount worstCase, IReadOnlyList<BudgetHeadroom> headroom, long maxOutputTokens)
    {
        _agent = agent;
        _tenantKey = tenantKey;
        _scopes = scopes;
        _leased = leased;
        _tenantCharged = tenantCharged;
        _id = id;
        _dimensions = dimensions;
        WorstCase = worstCase;
        Headroom = headroom;
        MaxOutputTokens = maxOutputTokens;
    }

    /// <summary>True once settled or released.</summary>
    public bool Closed => Volatile.Read(ref _closed) != 0;

    /// <summary>True when some scope limits the request (its worst case is reserved and streams are metered against it).</summary>
    public bool Limited => _scopes.Count + _leased.Count > 0;

    public BudgetAmount WorstCase { get; }

    /// <summary>Per metric, the tightest limit over the scopes reserved on, as it stood when the request was admitted.</summary>
    public IReadOnlyList<BudgetHeadroom> Headroom { get; }

    /// <summary>The output tokens reserved for.</summary>
    public long MaxOutputTokens { get; }

    /// <summary>Charges the request's real usage on every scope (and the tenant's spend rollups), releasing the rest of the reservation.</summary>
    public void Settle(UsageCost usage, string servedRoute)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        var amount = new BudgetAmount(usage.CostUsd, usage.TotalTokens, 1);
        var dimensions = _dimensions.Model == servedRoute ? _dimensions : _dimensions with { Model = servedRoute };
        if (_scopes.Count > 0)
        {
            var settle = new SettleOperation(_id, amount, dimensions);
            foreach (var scope in _scopes)
            {
                _agent.Settle(scope, settle);
            }
        }

        foreach (var ticket in _leased)
        {
            _agent.Finish(ticket, amount, dimensions);
        }

        if (!_tenantCharged)
        {
            // The tenant's budget keeps the spend report's rollups, limited or not; unlimited, it gets them summed each second.
            _agent.Record(_tenantKey, dimensions, amount);
        }
    }

    /// <summary>Releases the reservation unspent: nothing was sent upstream (or nothing it did costs anything).</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        var release = new SettleOperation(_id, null, _dimensions);
        foreach (var scope in _scopes)
        {
            _agent.Settle(scope, release);
        }

        foreach (var ticket in _leased)
        {
            _agent.Finish(ticket, null, _dimensions);
        }
    }
}

/// <summary>
/// The admit stage: which budget scopes apply to a request (tenant, key, deployment, end user), its worst case (input
/// tokens counted plus the most output it may produce, at the dearest route it may be served by), and the reservation
/// on every scope at once. Any refusal releases what the others granted.
/// </summary>
public sealed class BudgetAdmission(BudgetAgent agent, BudgetIndexCache indexes, Microsoft.Extensions.Options.IOptions<PlatformOptions> options, TimeProvider time)
{
    public ValueTask<(Admission? Admission, BudgetRefusal? Refusal)> AdmitAsync(
        Caller caller, ChatPlan plan, ResolvedRoute route, IEnumerable<ResolvedRoute> chain, string? user, CancellationToken aborted = default) =>
        AdmitAsync(caller, plan.Deployment?.Deployment.Name, route, chain, user, "max_tokens", bound =>
        {
            var request = plan.Request.Options;
            var input = bound ? TokenCounter.BoundPrompt(plan.Request.Messages, request) : TokenCounter.CountPrompt(plan.Request.Messages, request);
            if (TokenCounter.Attachments(plan.Request.Messages) is > 0 and var attachments)
            {
                // Images are billed as input too: at most the most any route of the chain bills for one.
                input += (long)attachments * chain.Append(route).Max(r => r.Route.ImageTokens);
            }

            var maxOutput = (long)(request.MaxOutputTokens ?? DefaultMaxOutput(route, input));
            if (request.MaxOutputTokens is null)
            {
                if (bound && maxOutput < options.Value.Budgets.DefaultMaxOutputTokens)
                {
                    // The context window caps the default output here: worked out from the real count, not the bound.
                    return null;
                }

                // What was reserved is what the provider may produce: it cannot cost more than the worst case.
                request.MaxOutputTokens = (int)maxOutput;
            }

            return (input, maxOutput);
        }, aborted);

    /// <summary>An embedding request: its worst case is its input, known exactly before the call.</summary>
    public ValueTask<(Admission? Admission, BudgetRefusal? Refusal)> AdmitEmbeddingAsync(
        Caller caller, ResolvedRoute route, IEnumerable<ResolvedRoute> chain, string? user, IReadOnlyList<string> inputs,
        CancellationToken aborted = default) =>
        AdmitAsync(caller, null, route, chain, user, "input", bound => (inputs.Sum(i => bound ? System.Text.Encoding.UTF8.GetByteCount(i) : (long)TokenCounter.Count(i)), 0), aborted);

    /// <summary>
    /// <paramref name="size"/>: the request's input tokens and most output, counted (false) or bounded without tokenizing
    /// (true; null when a bound will not do). A request that every scope admits from this silo's leases is admitted on the
    /// bound (it only has to fit a slice, and is charged its real usage); any other is counted.
    /// </summary>
    private async ValueTask<(Admission? Admission, BudgetRefusal? Refusal)> AdmitAsync(
        Caller caller, string? deployment, ResolvedRoute route, IEnumerable<ResolvedRoute> chain, string? user, string sizeField,
        Func<bool, (long Input, long MaxOutput)?> size, CancellationToken aborted)
    {
        var index = await indexes.GetAsync(caller.TenantId);
        var tenantKey = BudgetKeys.Tenant(caller.TenantId);
        var dimensions = new SpendDimensions(caller.KeyId, deployment, route.Name, user);
        var scopes = Scopes(caller, index, tenantKey, deployment, user, out var userDefault);
        if (scopes.Count == 0)
        {
            // Nothing limits it: no reservation, only its spend for the tenant's report.
            return (new Admission(agent, tenantKey, [], [], false, "", dimensions, default, [], 0), null);
        }

        if (scopes.TrueForAll(s => agent.IsLeasing(s.Key)) && size(true) is var (boundInput, boundOutput))
        {
            var bounded = WorstCase(route, chain, boundInput, boundOutput);
            if (LeaseAll(scopes, bounded) is { } tickets)
            {
                return (new Admission(agent, tenantKey, [], tickets, scopes.Exists(s => s.Scope == BudgetScope.Tenant), "", dimensions, bounded,
                    Merge(tickets.ConvertAll(t => t.Headroom)), boundOutput), null);
            }
        }

        var (input, maxOutput) = size(false)!.Value;
        var worst = WorstCase(route, chain, input, maxOutput);
        for (var attempt = 1; ; attempt++)
        {
            var (admission, refusal, leasesHeld) = await AdmitOnceAsync(tenantKey, scopes, userDefault, dimensions, worst, maxOutput, deployment, sizeField);
            if (!leasesHeld || attempt >= LeaseRetries || aborted.IsCancellationRequested)
            {
                return (admission, refusal);
            }

            // Refused while other silos held slices of the budget: the grain asked them back; they return them within a sync period.
            try
            {
                await Task.Delay(LeaseRetryDelay, time, aborted);
            }
            catch (OperationCanceledException)
            {
                return (admission, refusal); // the client left: no more tries on its behalf
            }
        }
    }

    /// <summary>Priced at the dearest route of the fallback chain: a fallback may serve it.</summary>
    private static BudgetAmount WorstCase(ResolvedRoute route, IEnumerable<ResolvedRoute> chain, long input, long maxOutput)
    {
        var price = route.Price.Cost(input, 0, maxOutput);
        foreach (var candidate in chain)
        {
            price = Math.Max(price, candidate.Price.Cost(input, 0, maxOutput));
        }

        return new BudgetAmount(price, input + maxOutput, 1);
    }

    /// <summary>Tickets from this silo's leases on every scope, or null (and none held) if one cannot admit it.</summary>
    private List<LeaseTicket>? LeaseAll(List<(string Key, BudgetScope Scope)> scopes, BudgetAmount worst)
    {
        var tickets = new List<LeaseTicket>(scopes.Count);
        foreach (var (key, _) in scopes)
        {
            if (agent.TryLease(key, worst) is not { } ticket)
            {
                Return(tickets);
                return null;
            }

            tickets.Add(ticket);
        }

        return tickets;
    }

    /// <summary>Gives tickets back unspent (the request was not admitted after all).</summary>
    private void Return(List<LeaseTicket>? tickets)
    {
        foreach (var ticket in tickets ?? [])
        {
            agent.Finish(ticket, null, SpendDimensions.None);
        }
    }


    /// <summary>How often a request refused while leases held the budget is tried again (the leases come back within a sync period).</summary>
    private const int LeaseRetries = 12;

    private static readonly TimeSpan LeaseRetryDelay = BudgetAgent.LeaseSyncPeriod * 1.5;

    private async ValueTask<(Admission? Admission, BudgetRefusal? Refusal, bool LeasesHeld)> AdmitOnceAsync(
        string tenantKey, List<(string Key, BudgetScope Scope)> scopes, BudgetPolicy? userDefault, SpendDimensions dimensions, BudgetAmount worst,
        long maxOutput, string? deployment, string sizeField)
    {
        // Scopes this silo holds a lease on admit the request here; the others are asked.
        List<LeaseTicket>? leased = null;
        List<(string Key, BudgetScope Scope)>? asked = null;
        var tenantCharged = false;
        foreach (var candidate in scopes)
        {
            if (candidate.Scope != BudgetScope.User && agent.TryLease(candidate.Key, worst) is { } ticket)
            {
                (leased ??= []).Add(ticket);
            }
            else
            {
                (asked ??= []).Add(candidate);
            }

            tenantCharged |= candidate.Scope == BudgetScope.Tenant;
        }

        if (asked is null)
        {
            return (new Admission(agent, tenantKey, [], leased!, tenantCharged, "", dimensions, worst, Merge(leased!.Select(t => t.Headroom)), maxOutput), null, false);
        }

        var id = Guid.NewGuid().ToString("N");
        var reserve = new ReserveOperation(id, worst, dimensions);
        var pending = asked.Select(s => agent.ReserveAsync(
            s.Key, s.Scope == BudgetScope.User && userDefault is not null ? reserve with { DefaultPolicy = userDefault } : reserve)).ToArray();
        try
        {
            await Task.WhenAll(pending);
        }
        catch (PlatformException)
        {
            // One scope could not be checked: what the others granted goes back (the failed one is released by the agent).
            for (var i = 0; i < pending.Length; i++)
            {
                if (pending[i].IsCompletedSuccessfully && pending[i].Result.Granted)
                {
                    agent.Settle(asked[i].Key, new SettleOperation(id, null, dimensions));
                }
            }

            Return(leased);
            throw;
        }

        var results = pending.Select(p => p.Result).ToArray();

        var refusedAt = Array.FindIndex(results, r => !r.Granted);
        if (refusedAt < 0)
        {
            for (var i = 0; i < results.Length; i++)
            {
                agent.ConsiderLease(asked[i].Key, worst, results[i].Headroom);
            }

            var headroom = Merge(results.Select(r => r.Headroom).Concat(leased?.Select(t => t.Headroom) ?? []));
            return (new Admission(agent, tenantKey, [.. asked.Select(s => s.Key)], leased ?? [], tenantCharged, id, dimensions, worst, headroom, maxOutput), null, false);
        }

        var release = new SettleOperation(id, null, dimensions);
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i].Granted)
            {
                agent.Settle(asked[i].Key, release);
            }
        }

        Return(leased);

        var refused = results[refusedAt];
        var scope = asked[refusedAt].Scope;
        var who = scope switch
        {
            BudgetScope.Tenant => "The tenant's",
            BudgetScope.Key => "This API key's",
            BudgetScope.Deployment => $"Deployment '{deployment}''s",
            _ => "This end user's",
        };
        var message = $"{who} budget refuses this request: {refused.Reason}";
        var error = refused.NeverFits
            ? new PlatformException(ErrorKind.Invalid, message, sizeField, ErrorCodes.RequestExceedsBudget)
            : new PlatformException(ErrorKind.RateLimited, message, null, refused.RefusedMetric switch
            {
                BudgetMetric.Requests => ErrorCodes.RequestsLimitExceeded,
                BudgetMetric.Tokens => ErrorCodes.TokensLimitExceeded,
                _ => ErrorCodes.BudgetExceeded,
            })
            {
                RetryAfterSeconds = (int)Math.Ceiling(Math.Min(refused.RetryAfterSeconds, int.MaxValue)),
            };
        return (null, new BudgetRefusal(error, Merge(results.Select(r => r.Headroom)), scope), refused.LeasesHeld);
    }

    private long DefaultMaxOutput(ResolvedRoute route, long input)
    {
        long max = options.Value.Budgets.DefaultMaxOutputTokens;
        if (route.Price.ContextWindow is { } window && window - input > 0)
        {
            max = Math.Min(max, window - input);
        }

        return Math.Max(1, max);
    }

    private static List<(string Key, BudgetScope Scope)> Scopes(
        Caller caller, BudgetIndex index, string tenantKey, string? deployment, string? user, out BudgetPolicy? userDefault)
    {
        userDefault = null;
        var scopes = new List<(string, BudgetScope)>(4);
        if (index.TenantHasPolicy)
        {
            scopes.Add((tenantKey, BudgetScope.Tenant));
        }

        if (index.Keys.Count > 0 && index.Keys.Contains(caller.KeyId))
        {
            scopes.Add((BudgetKeys.Of(caller.TenantId, BudgetScope.Key, caller.KeyId), BudgetScope.Key));
        }

        if (deployment is not null && index.Deployments.Count > 0 && index.Deployments.Contains(deployment))
        {
            scopes.Add((BudgetKeys.Of(caller.TenantId, BudgetScope.Deployment, deployment), BudgetScope.Deployment));
        }

        if (user is not null && (index.DefaultUserPolicy is not null || (index.Users.Count > 0 && index.Users.Contains(user))))
        {
            userDefault = index.DefaultUserPolicy;
            scopes.Add((BudgetKeys.Of(caller.TenantId, BudgetScope.User, user), BudgetScope.User));
        }

        return scopes;
    }

    /// <summary>Per metric, the least remaining over the scopes.</summary>
    private static IReadOnlyList<BudgetHeadroom> Merge(IEnumerable<IReadOnlyList<BudgetHeadroom>> scopes)
    {
        if (scopes is IReadOnlyList<IReadOnlyList<BudgetHeadroom>> { Count: 1 } single)
        {
            return single[0];
        }

        var merged = new List<BudgetHeadroom>(3);
        foreach (var headroom in scopes.SelectMany(h => h))
        {
            var at = merged.FindIndex(h => h.Metric == headroom.Metric);
            if (at < 0)
            {
                merged.Add(headroom);
            }
            else if (headroom.Remaining < merged[at].Remaining)
            {
                merged[at] = headroom;
            }
        }

        return merged;
    }
}

/// <summary>The budget headers: OpenAI's <c>x-ratelimit-*</c> for requests and tokens, and <c>x-platform-budget-*</c> for spend.</summary>
public static class BudgetHeaders
{
    public static void Write(IHeaderDictionary headers, IReadOnlyList<BudgetHeadroom> headroom)
    {
        foreach (var h in headroom)
        {
            var remaining = h.Remaining;
            var (limit, left, reset) = h.Metric switch
            {
                BudgetMetric.Requests => ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
                BudgetMetric.Tokens => ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
                _ => ("x-platform-budget-limit-usd", "x-platform-budget-remaining-usd", "x-platform-budget-reset"),
            };
            var invariant = CultureInfo.InvariantCulture;
            headers[limit] = h.Metric == BudgetMetric.Usd ? h.Limit.ToString("0.######", invariant) : h.Limit.ToString("0", invariant);
            headers[left] = h.Metric == BudgetMetric.Usd ? remaining.ToString("0.######", invariant) : remaining.ToString("0", invariant);
            headers[reset] = Duration(h.ResetSeconds);
        }
    }

    /// <summary>OpenAI's duration format: <c>1s</c>, <c>6m0s</c>, <c>1h2m3s</c>, <c>250ms</c>.</summary>
    public static string Duration(double seconds)
    {
        if (seconds < 1)
        {
            return $"{Math.Max(0, (int)Math.Round(seconds * 1000))}ms";
        }

        var span = TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.MaxValue.TotalSeconds / 2));
        var hours = (long)span.TotalHours;
        return hours > 0 ? $"{hours}h{span.Minutes}m{span.Seconds}s" : span.Minutes > 0 ? $"{span.Minutes}m{span.Seconds}s" : $"{span.Seconds}s";
    }
}
