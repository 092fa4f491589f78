using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Platform.Notifications;

/// <summary>
/// Posts a notification as JSON, signed with HMAC-SHA256 of the raw body under the tenant's webhook secret:
/// header <c>X-Platform-Signature: sha256=&lt;hex&gt;</c>, plus <c>X-Platform-Event</c> and <c>X-Platform-Delivery</c>.
/// </summary>
public sealed class WebhookSender(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string Sign(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>True when the receiver answered 2xx.</summary>
    public async Task<bool> SendAsync(string url, string secret, Notification notification, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(notification, Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Platform-Signature", Sign(secret, body));
        request.Headers.Add("X-Platform-Event", notification.Event);
        request.Headers.Add("X-Platform-Delivery", notification.Id);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
