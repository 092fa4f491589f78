namespace Platform.Tenants;

/// <summary>
/// The first result of one <c>Idempotency-Key</c> of one tenant, kept for <see cref="Idempotency.Lifetime"/> so a
/// client's retry gets that result instead of making the change twice. Key: <c>{tenant}/{hash of the key}</c>.
/// </summary>
[Alias("Platform.Tenants.IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    /// <summary>Claims the key for a request with this fingerprint, or says what became of an earlier one.</summary>
    [Alias("BeginAsync")]
    Task<IdempotencyBegin> BeginAsync(string fingerprint);

    /// <summary>Stores the claimed request's result.</summary>
    [Alias("CompleteAsync")]
    Task CompleteAsync(string fingerprint, IdempotentResponse response);

    /// <summary>Releases the claim of a request that changed nothing, so a retry runs again.</summary>
    [Alias("AbandonAsync")]
    Task AbandonAsync(string fingerprint);
}

[GenerateSerializer]
[Alias("Platform.Tenants.IdempotencyOutcome")]
public enum IdempotencyOutcome
{
    /// <summary>The key is new (or expired): run the request.</summary>
    Proceed = 0,

    /// <summary>A request with the key completed: answer with its result.</summary>
    Replay = 1,

    /// <summary>A request with the key is still running.</summary>
    InProgress = 2,

    /// <summary>The key was used for a different request.</summary>
    Mismatch = 3,
}

[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.IdempotencyBegin")]
public sealed record IdempotencyBegin(
    [property: Id(0)] IdempotencyOutcome Outcome,
    [property: Id(1)] IdempotentResponse? Response);

/// <summary>A stored answer: status, content type, location and body (null when too large or secret to keep).</summary>
[GenerateSerializer]
[Immutable]
[Alias("Platform.Tenants.IdempotentResponse")]
public sealed record IdempotentResponse(
    [property: Id(0)] int Status,
    [property: Id(1)] string? ContentType,
    [property: Id(2)] string? Location,
    [property: Id(3)] string? Body);

public static class Idempotency
{
    /// <summary>The request header that names a retryable management request.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>The response header set on a replayed answer.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>How long a key's result is kept.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a claimed key waits for its request before another request may take it over: long enough for any
    /// management request, short enough that a claim whose release was lost with a silo does not block retries for long.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    /// <summary>Largest response body kept for replay (bytes).</summary>
    public const int MaxStoredBody = 256 * 1024;

    /// <summary>1 to <see cref="TextLimits.IdempotencyKey"/> visible ASCII characters.</summary>
    public static bool IsValidKey(string? key) =>
        key is { Length: > 0 and <= TextLimits.IdempotencyKey } && key.All(c => c is > ' ' and <= '~');
}
