using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
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

    /// <summary>
    /// A sender whose connections are checked where it matters: at connect time, against the address actually
    /// connected to, on every delivery. A host name that resolves (or later re-resolves) to a loopback, private or
    /// link-local address is refused, unless <paramref name="allowPrivateNetworks"/>. No proxy (the check would
    /// see the proxy), no redirects.
    /// </summary>
    public static WebhookSender Create(bool allowPrivateNetworks) =>
        new(new HttpClient(CreateHandler(allowPrivateNetworks)) { Timeout = TimeSpan.FromSeconds(10) });

    public static SocketsHttpHandler CreateHandler(bool allowPrivateNetworks) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            var allowed = allowPrivateNetworks ? addresses : Array.FindAll(addresses, a => !NetworkAddresses.IsPrivate(a));
            if (allowed.Length == 0)
            {
                throw new HttpRequestException($"The webhook host '{host}' resolves only to loopback, private or link-local addresses.");
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

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
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or SocketException)
        {
            return false;
        }
    }
}
