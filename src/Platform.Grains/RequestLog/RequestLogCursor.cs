using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Platform.RequestLog;

/// <summary>
/// The opaque cursor of <c>GET /api/v1/requests</c>: where the last page ended, bound to the tenant and the filters that
/// produced it, so a cursor replayed with other filters or by another tenant is refused rather than silently misread.
/// </summary>
public static class RequestLogCursor
{
    private const string Version = "r1";

    public static string Encode(RequestLogQuery query, RequestLogPosition position) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join(
            '\n', Version, Binding(query), position.At.Ticks.ToString(CultureInfo.InvariantCulture), position.Id)));

    /// <summary>The position, or null when the cursor is malformed or was made for another tenant or other filters.</summary>
    public static RequestLogPosition? TryDecode(RequestLogQuery query, string cursor)
    {
        if (cursor.Length is 0 or > 2048 || !Base64Url.IsValid(cursor))
        {
            return null;
        }

        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            return null;
        }

        var parts = text.Split('\n');
        return parts.Length == 4
            && parts[0] == Version
            && parts[1] == Binding(query)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && ticks is > 0 and < 3155378975999999999
            && parts[3].Length > 0
            ? new RequestLogPosition(new DateTime(ticks, DateTimeKind.Utc), parts[3])
            : null;
    }

    /// <summary>
    /// A digest of the tenant and every filter but the time range: the position is absolute, and a range that defaults
    /// to "until now" moves between pages.
    /// </summary>
    private static string Binding(RequestLogQuery q)
    {
        var text = string.Join(
            '\u001f',
            q.TenantId,
            q.Deployment,
            q.Model,
            q.User,
            q.Success?.ToString(),
            q.Status?.ToString(CultureInfo.InvariantCulture),
            q.MinLatencyMs?.ToString("R", CultureInfo.InvariantCulture),
            q.MinCostNanoUsd?.ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0, 12);
    }
}
