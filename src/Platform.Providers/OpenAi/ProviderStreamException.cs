using System.Text.Json;

namespace Platform.Providers.OpenAi;

/// <summary>
/// An error object the provider sent inside a 200 stream. <see cref="Status"/> is the HTTP status the error
/// stands for, read from its <c>code</c> or <c>type</c> (500 when neither says), so a refusal of the request
/// is not retried like an outage.
/// </summary>
public sealed class ProviderStreamException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    internal static ProviderStreamException From(JsonElement error)
    {
        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var code = error.TryGetProperty("code", out var c) ? c : default;
        var type = error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var status = code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var n) && n is >= 400 and < 600 ? n
            : code.ValueKind == JsonValueKind.String && int.TryParse(code.GetString(), out var parsed) && parsed is >= 400 and < 600 ? parsed
            : type switch
            {
                "invalid_request_error" => 400,
                "authentication_error" => 401,
                "permission_error" => 403,
                "not_found_error" => 404,
                "rate_limit_error" or "rate_limit_exceeded" or "tokens" or "requests" => 429,
                _ => 500,
            };
        return new ProviderStreamException(status, "The provider sent an error in the stream: " + (message ?? "no message"));
    }
}
