using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Platform.Silo.Gateway;

/// <summary>
/// Writes one stream's <c>chat.completion.chunk</c> events (<c>data: {...}\n\n</c>), byte for byte as
/// <see cref="CompletionWriter.WriteChunk"/> does, at a fraction of its cost: the part every chunk of the stream
/// shares (id, created, model, the choice's opening) is encoded once; a chunk of text only adds its escaped text.
/// Each event is put together in a buffer of its own and reaches the response in one write.
/// </summary>
/// <remarks>
/// Chunks other than plain text (the first, with the role; tool calls; a finish reason) are written by
/// <see cref="CompletionWriter.WriteChunk"/> itself: there are one or two per stream.
/// </remarks>
public sealed class ChunkWriter
{
    private static ReadOnlySpan<byte> Data => "data: "u8;
    private static ReadOnlySpan<byte> Content => "\"content\":"u8;
    private static ReadOnlySpan<byte> TextEnd => "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"u8;

    private readonly string _model;
    private readonly string _id;
    private readonly long _created;
    private readonly byte[] _start;
    private readonly ArrayBufferWriter<byte> _event = new(512);

    public ChunkWriter(string model, string id, long created)
    {
        (_model, _id, _created) = (model, id, created);

        // "data: {"id":...,"model":...,"choices":[{"index":0,"delta":{" as the full writer puts it.
        _event.Write(Data);
        using (var json = new Utf8JsonWriter(_event))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "chat.completion.chunk");
            json.WriteNumber("created", created);
            json.WriteString("model", model);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
        }

        _start = [.. _event.WrittenSpan];
        _event.ResetWrittenCount();
    }

    /// <summary>Writes the update as one event.</summary>
    public void Write(IBufferWriter<byte> output, ChatResponseUpdate update, bool first)
    {
        _event.ResetWrittenCount();
        if (first || update.FinishReason is not null || !IsPlainText(update.Contents, out var text))
        {
            _event.Write(Data);
            CompletionWriter.WriteChunk(_event, update, _model, _id, _created, first);
            _event.Write("\n\n"u8);
        }
        else
        {
            _event.Write(_start);
            _event.Write(Content);
            CompletionWriter.WriteStringValue(_event, text);
            _event.Write(TextEnd);
        }

        output.Write(_event.WrittenSpan);
    }

    /// <summary>Whether the contents are text and nothing the client would see besides (usage and the like are not sent).</summary>
    private static bool IsPlainText(IList<AIContent> contents, out string text)
    {
        text = "";
        for (var i = 0; i < contents.Count; i++)
        {
            switch (contents[i])
            {
                case FunctionCallContent:
                    return false;
                case TextContent { Text.Length: > 0 } part:
                    if (text.Length > 0)
                    {
                        return false;
                    }

                    text = part.Text;
                    break;
            }
        }

        return text.Length > 0;
    }
}
