using System.Net.Http.Headers;

namespace Platform.Providers.OpenAi;

/// <summary>
/// A provider's non-success HTTP answer: its status, the start of its body (for the error's code, such as
/// <c>context_length_exceeded</c>) and the headers that say when to retry.
/// </summary>
public sealed class ProviderHttpException(int status, string body, string? retryAfterMs, string? retryAfter)
    : Exception($"The provider answered {status}.")
{
    /// <summary>The most of an error body kept: enough for any provider's error object, bounded against a hostile one.</summary>
    public const int MaxBodyChars = 16 * 1024;

    public int Status { get; } = status;

    public string Body { get; } = body;

    /// <summary>The <c>retry-after-ms</c> header, as sent.</summary>
    public string? RetryAfterMs { get; } = retryAfterMs;

    /// <summary>The <c>retry-after</c> header, as sent (seconds or an HTTP date).</summary>
    public string? RetryAfter { get; } = retryAfter;

    /// <summary>Reads the failure out of a response and disposes it.</summary>
    internal static async Task<ProviderHttpException> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            var body = "";
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(stream);
                var buffer = new char[MaxBodyChars];
                var read = await reader.ReadBlockAsync(buffer, cancellationToken).ConfigureAwait(false);
                body = new string(buffer, 0, read);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException)
            {
                // The status says enough.
            }

            return new ProviderHttpException((int)response.StatusCode, body, Header(response.Headers, "retry-after-ms"), Header(response.Headers, "retry-after"));
        }
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
