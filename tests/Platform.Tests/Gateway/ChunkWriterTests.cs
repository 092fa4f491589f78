using System.Buffers;
using System.Text;
using Microsoft.Extensions.AI;
using Platform.Silo.Gateway;

namespace Platform.Tests.Gateway;

public sealed class ChunkWriterTests
{
    public static TheoryData<string, bool> Updates() => new()
    {
        { "text", false },
        { "text", true },
        { "escapes", false },
        { "two-texts", false },
        { "text-and-usage", false },
        { "finish", false },
        { "tool-call", false },
        { "empty-first", true },
    };

    private static ChatResponseUpdate Update(string kind) => kind switch
    {
        "text" => new(ChatRole.Assistant, "Hello"),
        "escapes" => new(ChatRole.Assistant, "Zürich \"quoted\" <b>&</b>\n\t\u0001 東京 😀 \\ '"),
        "two-texts" => new(ChatRole.Assistant, [new TextContent("one "), new TextContent(""), new TextContent("two")]),
        "text-and-usage" => new(ChatRole.Assistant, [new TextContent("x"), new UsageContent(new UsageDetails { InputTokenCount = 1 })]),
        "finish" => new(ChatRole.Assistant, "end") { FinishReason = ChatFinishReason.Length },
        "tool-call" => new(ChatRole.Assistant, [new FunctionCallContent("call_1", "f", new Dictionary<string, object?> { ["a"] = 1 })]),
        _ => new(ChatRole.Assistant, []),
    };

    [Theory]
    [MemberData(nameof(Updates))]
    public void Write_GivesTheSameBytesAsTheFullChunkWriter(string kind, bool first)
    {
        var expected = new ArrayBufferWriter<byte>();
        expected.Write("data: "u8);
        CompletionWriter.WriteChunk(expected, Update(kind), "client-model", "chatcmpl-1\"é", 1_700_000_000, first);
        expected.Write("\n\n"u8);

        var writer = new ChunkWriter("client-model", "chatcmpl-1\"é", 1_700_000_000);
        var actual = new ArrayBufferWriter<byte>();
        writer.Write(actual, Update("text"), first: false);
        actual.ResetWrittenCount();
        writer.Write(actual, Update(kind), first);

        Assert.Equal(Encoding.UTF8.GetString(expected.WrittenSpan), Encoding.UTF8.GetString(actual.WrittenSpan));
    }
}
