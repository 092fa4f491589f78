using System.Buffers;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net;
using OpenAI.Chat;

namespace Platform.Providers.OpenAi;

/// <summary>How the OpenAI wire protocol's request reaches a provider: a completion, or a stream of server-sent events.</summary>
internal abstract class ChatTransport
{
    /// <summary>Posts the body and reads the successful answer with <paramref name="read"/>; a non-success status throws.</summary>
    public abstract Task<T> CompleteAsync<T>(ReadOnlyMemory<byte> body, Func<ReadOnlyMemory<byte>, T> read, CancellationToken cancellationToken);

    /// <summary>Posts the body and opens the answer's stream (disposing it ends the response); a non-success status throws.</summary>
    public abstract Task<Stream> OpenStreamAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

/// <summary>
/// The OpenAI SDK's <see cref="ChatClient"/> through its protocol methods: the SDK owns the URL scheme (Azure
/// deployments and api-version), the credential header and the transport. Failures are its <see cref="ClientResultException"/>.
/// </summary>
internal sealed class SdkChatTransport(ChatClient client) : ChatTransport
{
    public ChatClient Client => client;

    public override async Task<T> CompleteAsync<T>(ReadOnlyMemory<byte> body, Func<ReadOnlyMemory<byte>, T> read, CancellationToken cancellationToken)
    {
        using var content = BinaryContent.Create(new BinaryData(body));
        var result = await client.CompleteChatAsync(content, new RequestOptions { CancellationToken = cancellationToken }).ConfigureAwait(false);
        using var response = result.GetRawResponse();
        return read(response.Content.ToMemory());
    }

    public override async Task<Stream> OpenStreamAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var content = BinaryContent.Create(new BinaryData(body));
        var result = await client.CompleteChatAsync(content, new RequestOptions { CancellationToken = cancellationToken, BufferResponse = false }).ConfigureAwait(false);
        var response = result.GetRawResponse();
        if (response.ContentStream is { } stream)
        {
            return new OwnedStream(stream, response);
        }

        response.Dispose();
        throw new InvalidDataException("The provider answered a stream request without a body.");
    }
}

/// <summary>
/// An OpenAI-compatible endpoint called with <see cref="HttpClient"/> directly: <c>POST {endpoint}/chat/completions</c>
/// with a bearer key. The SDK's pipeline (its message and header objects, policy chain, response buffering and
/// per-read timer) cost about a fifth of the gateway's CPU per request in the benchmark; what it did for an
/// OpenAI-compatible endpoint is this class. Failures are <see cref="ProviderHttpException"/> (a status) or
/// <see cref="HttpRequestException"/> (no answer).
/// </summary>
internal sealed class HttpChatTransport(Uri endpoint, string? apiKey) : ChatTransport
{
    /// <summary>The largest non-streamed answer read: far above any completion, bounded against a hostile provider.</summary>
    public const int MaxResponseBytes = 64 * 1024 * 1024;

    /// <summary>
    /// One connection pool for every route, as the SDK shares one; connections are renewed so DNS changes are seen.
    /// Nothing is buffered by the client: every answer is read with headers first, so an error's body is read only
    /// as far as <see cref="ProviderHttpException.MaxBodyChars"/> and a success's only up to <see cref="MaxResponseBytes"/>.
    /// No activity of HttpClient's own: the caller's span (the gateway's attempt span) is the provider call's, and its
    /// context is what the provider receives (<see cref="SendAsync"/>). HttpClient's would be an extra span per call, and,
    /// when nobody exports it, a parent the provider names that never arrives at the trace backend.
    /// </summary>
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(30),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        AllowAutoRedirect = false,
        ActivityHeadersPropagator = null,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly Uri _url = new(endpoint.AbsoluteUri.TrimEnd('/') + "/chat/completions");
    private readonly string? _authorization = string.IsNullOrEmpty(apiKey) ? null : "Bearer " + apiKey;

    public override async Task<T> CompleteAsync<T>(ReadOnlyMemory<byte> body, Func<ReadOnlyMemory<byte>, T> read, CancellationToken cancellationToken)
    {
        // Headers first, even for a completion: with the body read by SendAsync, a non-success answer's body would be
        // buffered whole (to the client's limit) before its status could be looked at.
        using var response = await SendAsync(body, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        return await ReadBoundedAsync(response.Content, read, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a body of at most <see cref="MaxResponseBytes"/> into a pooled buffer and hands it to <paramref name="read"/>.</summary>
    private static async Task<T> ReadBoundedAsync<T>(HttpContent content, Func<ReadOnlyMemory<byte>, T> read, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxResponseBytes)
        {
            throw TooLarge();
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(content.Headers.ContentLength ?? 16 * 1024, 1, MaxResponseBytes));
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    // Full at the limit: the answer must end here. Full below it: the buffer grows.
                    if (length >= MaxResponseBytes)
                    {
                        return await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) == 0
                            ? read(buffer.AsMemory(0, length))
                            : throw TooLarge();
                    }

                    var grown = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, MaxResponseBytes));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var count = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    break;
                }

                length += count;
            }

            return read(buffer.AsMemory(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static InvalidDataException TooLarge() =>
        new($"The provider's answer is larger than {MaxResponseBytes / (1024 * 1024)} MB.");

    public override async Task<Stream> OpenStreamAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var response = await SendAsync(body, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            return new OwnedStream(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(ReadOnlyMemory<byte> body, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (_authorization is not null)
        {
            // Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) often need no key: none is sent then.
            request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        }

        if (Activity.Current is { } span)
        {
            // W3C traceparent/tracestate (and baggage) of the current span, by the process's propagator.
            DistributedContextPropagator.Current.Inject(span, request, static (carrier, name, value) =>
            {
                if (carrier is HttpRequestMessage message && value is not null)
                {
                    message.Headers.TryAddWithoutValidation(name, value);
                }
            });
        }

        var response = await Http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            ? response
            : throw await ProviderHttpException.ReadAsync(response, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A response's body stream that disposes the response with it.</summary>
internal sealed class OwnedStream(Stream inner, IDisposable owner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }

        base.Dispose(disposing);
    }
}
