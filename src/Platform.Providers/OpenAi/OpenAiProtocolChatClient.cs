using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Platform.Providers.OpenAi;

/// <summary>
/// The <see cref="IChatClient"/> of the <c>openai</c> and <c>azure-openai</c> providers: the OpenAI wire protocol,
/// written and read by <see cref="OpenAiWire"/>, over a <see cref="ChatTransport"/>. An <c>openai</c> route (OpenAI
/// or any OpenAI-compatible server) is called with <see cref="HttpClient"/> directly; an <c>azure-openai</c> route
/// through the Azure OpenAI SDK's protocol methods, which own its URL scheme, api-version and credentials.
/// </summary>
/// <remarks>
/// Neither path builds the SDK's request and response object models, which Microsoft.Extensions.AI's adapter then
/// maps a second time: in the gateway benchmark that double mapping was the largest cost of a request.
/// </remarks>
public sealed class OpenAiProtocolChatClient : IChatClient
{
    private readonly ChatTransport _transport;
    private readonly string _model;
    private readonly bool _azure;
    private readonly ChatClientMetadata _metadata;

    /// <summary>A route called through the SDK's <paramref name="client"/> (Azure OpenAI).</summary>
    public OpenAiProtocolChatClient(ChatClient client, string model, bool azure, Uri? endpoint)
        : this(new SdkChatTransport(client), model, azure, endpoint)
    {
    }

    private OpenAiProtocolChatClient(ChatTransport transport, string model, bool azure, Uri? endpoint)
    {
        (_transport, _model, _azure) = (transport, model, azure);
        _metadata = new ChatClientMetadata(azure ? "azure.ai.openai" : "openai", endpoint, model);
    }

    /// <summary>A route called over HTTP: <c>POST {endpoint}/chat/completions</c> with <paramref name="apiKey"/> as the bearer key (none if empty).</summary>
    public static OpenAiProtocolChatClient OverHttp(Uri endpoint, string? apiKey, string model) =>
        new(new HttpChatTransport(endpoint, apiKey), model, azure: false, endpoint);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        _transport.CompleteAsync(Body(messages, options, stream: false), static body => ReadResponse(body), cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await _transport.OpenStreamAsync(Body(messages, options, stream: true), cancellationToken).ConfigureAwait(false);
        using var events = new SseDataReader(stream);
        var reader = new OpenAiWire.StreamReader();
        while (await events.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            var (update, done) = Read(events, reader);
            if (done)
            {
                break;
            }

            if (update is not null)
            {
                yield return update;
            }
        }

        if (reader.Complete() is { } last)
        {
            yield return last;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : _transport is SdkChatTransport sdk && serviceType.IsInstanceOfType(sdk.Client) ? sdk.Client
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    /// <summary>The update an event's data stands for (none for an empty one), or the end at <c>[DONE]</c>.</summary>
    private static (ChatResponseUpdate? Update, bool Done) Read(SseDataReader events, OpenAiWire.StreamReader reader)
    {
        var data = events.Data;
        try
        {
            return data.SequenceEqual("[DONE]"u8) ? (null, true)
                : data.IsEmpty ? (null, false)
                : (reader.Read(data), false);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            throw Unreadable(ex);
        }
    }

    private static ChatResponse ReadResponse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return OpenAiWire.ReadResponse(body);
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            throw Unreadable(ex);
        }
    }

    /// <summary>
    /// The ways the parser says an answer is broken (not JSON, cut short, text that is not UTF-8 or holds a lone
    /// surrogate, a value of the wrong kind). Their messages and type names are the parser's, not for a caller.
    /// </summary>
    private static bool IsUnreadable(Exception ex) => ex is JsonException or InvalidOperationException or FormatException;

    private static InvalidDataException Unreadable(Exception ex) =>
        new("The provider sent an answer that is not valid JSON in UTF-8.", ex);

    private ReadOnlyMemory<byte> Body(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        OpenAiWire.WriteRequest(buffer, _model, messages, options, stream, _azure);
        return buffer.WrittenMemory;
    }
}
