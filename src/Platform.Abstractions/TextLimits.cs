namespace Platform;

/// <summary>
/// Largest accepted length, in characters, of every free-text field a caller can store through the management API.
/// Stored records (audit entries, histories, grain states) must stay well below a storage entity's size
/// (Azure Table: 1 MB), whatever a caller sends; a longer value is refused with a 400 naming the field.
/// </summary>
public static class TextLimits
{
    /// <summary>Key names, model route names and other short identifiers chosen by a caller.</summary>
    public const int Name = 100;

    /// <summary>A tenant's display name.</summary>
    public const int DisplayName = 200;

    /// <summary>A prompt version's commit message.</summary>
    public const int CommitMessage = 4096;

    /// <summary>The reason given for a deployment change.</summary>
    public const int Reason = 1024;

    /// <summary>Evidence the monitor attaches to an automatic decision.</summary>
    public const int Evidence = 4096;

    /// <summary>Descriptions (of a prompt variable).</summary>
    public const int Description = 1024;

    /// <summary>URLs (webhook, provider endpoint).</summary>
    public const int Url = 2048;

    /// <summary>Labels, roles, types, modes and other tokens from a short vocabulary.</summary>
    public const int Token = 64;

    /// <summary>JSON a prompt version carries besides its templates: a variable's default, the tools list, a response format.</summary>
    public const int Json = 32 * 1024;

    /// <summary>Idempotency-Key header values.</summary>
    public const int IdempotencyKey = 200;

    /// <summary>Before and after summaries of one audit entry (longer ones are cut, marked with an ellipsis).</summary>
    public const int AuditDetail = 4096;

    /// <summary>Messages and variables of one prompt version; fallbacks of one model route; steps of one rollout policy.</summary>
    public const int ListItems = 100;

    /// <summary>Refuses <paramref name="value"/> when longer than <paramref name="max"/> characters (null passes).</summary>
    public static void Require(string? value, int max, string field)
    {
        if (value is not null && value.Length > max)
        {
            throw new PlatformException(
                ErrorKind.Invalid, $"{field} is {value.Length} characters long; the limit is {max}.", field, "field_too_long");
        }
    }

    /// <summary>Refuses a list with more than <paramref name="max"/> items (null passes).</summary>
    public static void RequireCount<T>(IReadOnlyCollection<T>? items, int max, string field)
    {
        if (items is not null && items.Count > max)
        {
            throw new PlatformException(ErrorKind.Invalid, $"{field} has {items.Count} items; the limit is {max}.", field, "too_many_items");
        }
    }

    /// <summary>Cuts <paramref name="value"/> to <paramref name="max"/> characters, marking the cut with an ellipsis.</summary>
    public static string? Truncate(string? value, int max) =>
        value is null || value.Length <= max ? value : string.Concat(value.AsSpan(0, max - 1), "\u2026");
}
