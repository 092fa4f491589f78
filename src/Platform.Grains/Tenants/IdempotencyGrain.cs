using Platform.Hosting;

namespace Platform.Tenants;

[GenerateSerializer]
[Alias("Platform.Tenants.IdempotencyState")]
public sealed class IdempotencyState
{
    [Id(0)]
    public string? Fingerprint { get; set; }

    /// <summary>When the running request claimed the key (null once completed).</summary>
    [Id(1)]
    public DateTimeOffset? ClaimedAt { get; set; }

    [Id(2)]
    public IdempotentResponse? Response { get; set; }

    [Id(3)]
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// One Idempotency-Key of one tenant. A reminder clears the record when it expires, so storage holds only the keys
/// of the last <see cref="Idempotency.Lifetime"/>.
/// </summary>
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", PlatformStorage.Default)] IPersistentState<IdempotencyState> state,
    TimeProvider time) : Grain, IIdempotencyGrain, IRemindable
{
    private const string ExpiryReminder = "expire";

    public async Task<IdempotencyBegin> BeginAsync(string fingerprint)
    {
        var now = time.GetUtcNow();
        var s = state.State;
        if (s.Fingerprint is not null && s.ExpiresAt > now)
        {
            if (s.Fingerprint != fingerprint)
            {
                return new IdempotencyBegin(IdempotencyOutcome.Mismatch, null);
            }

            if (s.Response is { } response)
            {
                return new IdempotencyBegin(IdempotencyOutcome.Replay, response);
            }

            if (s.ClaimedAt + Idempotency.Lease > now)
            {
                return new IdempotencyBegin(IdempotencyOutcome.InProgress, null);
            }

            // The claimant died with its request (its silo was lost): this retry takes the key over.
        }

        var fresh = s.Fingerprint is null || s.ExpiresAt <= now;
        state.State = new IdempotencyState { Fingerprint = fingerprint, ClaimedAt = now, ExpiresAt = now + Idempotency.Lifetime };
        await state.WriteStateAsync();
        if (fresh)
        {
            await this.RegisterOrUpdateReminder(ExpiryReminder, Idempotency.Lifetime, Idempotency.Lifetime);
        }

        return new IdempotencyBegin(IdempotencyOutcome.Proceed, null);
    }

    public async Task CompleteAsync(string fingerprint, IdempotentResponse response)
    {
        if (state.State.Fingerprint != fingerprint)
        {
            return;
        }

        state.State.Response = response;
        state.State.ClaimedAt = null;
        await state.WriteStateAsync();
    }

    public async Task AbandonAsync(string fingerprint)
    {
        if (state.State.Fingerprint == fingerprint && state.State.Response is null)
        {
            // A failed request leaves nothing behind: neither its claim nor its expiry reminder (one row per key).
            await state.ClearStateAsync();
            if (await this.GetReminder(ExpiryReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            DeactivateOnIdle();
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Fingerprint is null || state.State.ExpiresAt <= time.GetUtcNow())
        {
            await state.ClearStateAsync();
            if (await this.GetReminder(ExpiryReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            DeactivateOnIdle();
        }
    }
}
