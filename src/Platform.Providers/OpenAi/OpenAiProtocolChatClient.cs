using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Platform.Providers.OpenAi;

/// <summary>
/// The <see cref="IChatClient"/> of the <c>openai</c> and <c>azure-openai</c> providers: the OpenAI SDK's
/// <see cref="ChatClient"/> (or Azure's subclass of it) called through its protocol methods, with the wire
/// JSON written and read by <see cref="OpenAiWire"/>.
/// </summary>
/// <remarks>
/// The SDK still owns the endpoint, the URL scheme (Azure deployments and api-version included), the
/// credential header and the transport; what it no longer does is build its request and response object
/// models, which Microsoft.Extensions.AI's adapter then maps a second time. In the gateway benchmark that
/// double mapping was the largest cost of a request. Non-success statuses still surface as the SDK's
/// <see cref="ClientResultException"/>.
/// </remarks>
public sealed class OpenAiProtocolChatClient(ChatClient client, string model, bool azure, Uri? endpoint) : IChatClient
{
    private static readonly ChatResponseUpdate Done = new();
    private readonly ChatClientMetadata _metadata = new(azure ? "azure.ai.openai" : "openai", endpoint, model);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var content = Body(messages, options, stream: false);
        var result = await client.CompleteChatAsync(content, new RequestOptions { CancellationToken = cancellationToken }).ConfigureAwait(false);
        using var response = result.GetRawResponse();
        return OpenAiWire.ReadResponse(response.Content.ToMemory());
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var content = Body(messages, options, stream: true);
        var result = await client.CompleteChatAsync(content, new RequestOptions { CancellationToken = cancellationToken, BufferResponse = false }).ConfigureAwait(false);
        using var response = result.GetRawResponse();
        await using var stream = new ReadAheadStream(
            response.ContentStream ?? throw new InvalidDataException("The provider answered a stream request without a body."));
        var reader = new OpenAiWire.StreamReader();
        var events = SseParser.Create(stream, (_, data) => data.SequenceEqual("[DONE]"u8) ? Done : data.IsEmpty ? null : reader.Read(data));
        await foreach (var item in events.EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReferenceEquals(item.Data, Done))
            {
                break;
            }

            if (item.Data is { } update)
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
        : serviceType.IsInstanceOfType(client) ? client
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }

    private BinaryContent Body(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        OpenAiWire.WriteRequest(buffer, model, messages, options, stream, azure);
        return BinaryContent.Create(new BinaryData(buffer.WrittenMemory));
    }
}
