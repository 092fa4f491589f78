using System.Text;
using Platform.Providers.OpenAi;

namespace Platform.Tests.Providers;

public sealed class SseDataReaderTests
{
    /// <summary>A stream that hands out at most <paramref name="piece"/> bytes per read, so events and line ends split across reads.</summary>
    private sealed class Trickle(byte[] bytes, int piece) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(piece, buffer.Length)], cancellationToken);
    }

    private static async Task<List<string>> ReadAllAsync(string text, int piece)
    {
        using var reader = new SseDataReader(new Trickle(Encoding.UTF8.GetBytes(text), piece));
        var events = new List<string>();
        while (await reader.MoveNextAsync(CancellationToken.None))
        {
            events.Add(Encoding.UTF8.GetString(reader.Data));
        }

        return events;
    }

    public static TheoryData<string, string[]> Cases => new()
    {
        { "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n", ["{\"a\":1}", "{\"b\":2}"] },
        { "data: one\r\n\r\ndata: two\r\n\r\n", ["one", "two"] },
        { "data: one\r\rdata: two\r\r", ["one", "two"] },
        { "data:no-space\n\n", ["no-space"] },
        { "data:  two spaces\n\n", [" two spaces"] },
        { "data: first\ndata: second\n\n", ["first\nsecond"] },
        { "data: first\r\ndata: second\r\n\r\ndata: third\r\rdata: fourth\r\n\r\n", ["first\nsecond", "third", "fourth"] },
        { "data: a\ndata\ndata: b\n\n", ["a\n\nb"] },
        { ": keep-alive comment\n\nevent: message\nid: 7\nretry: 10\ndata: x\n\n", ["x"] },
        { "database: not data\n\ndata: y\n\n", ["y"] },
        { "\n\n\ndata: after blank lines\n\n", ["after blank lines"] },
        { "data: no blank line at the end", ["no blank line at the end"] },
        { "data: [DONE]\n\n", ["[DONE]"] },
        { "", [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Events_AreReadAsTheSpecificationSays_WhateverTheReadSizes(string text, string[] expected)
    {
        foreach (var piece in new[] { 1, 2, 3, 7, 64, 100_000 })
        {
            Assert.Equal(expected, await ReadAllAsync(text, piece));
        }
    }

    /// <summary>Hands out its bytes, then fails the next read: what a provider that sent them and went quiet looks like to a reader that waits.</summary>
    private sealed class ThenSilence(byte[] bytes) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new InvalidOperationException("read past what the provider sent");
    }

    [Theory]
    [InlineData("data: one\r\r")]
    [InlineData("data: one\n\n")]
    [InlineData("data: one\r\n\r\n")]
    public async Task AnEventWhoseEndArrived_IsHandedOut_WithoutWaitingForMoreBytes(string text)
    {
        // Held until more bytes come, a CR-only event would wait out the provider's silence (a stream's idle timeout).
        using var reader = new SseDataReader(new ThenSilence(Encoding.UTF8.GetBytes(text)));

        Assert.True(await reader.MoveNextAsync(CancellationToken.None));
        Assert.Equal("one", Encoding.UTF8.GetString(reader.Data));
    }

    [Fact]
    public async Task AnEventLargerThanTheFirstBuffer_IsReadWhole()
    {
        var big = new string('x', SseDataReader.InitialBufferSize * 3);
        var events = await ReadAllAsync($"data: {big}\n\ndata: after\n\n", 5000);
        Assert.Equal([big, "after"], events);
    }

    [Fact]
    public async Task AnEventOverTheLimit_EndsTheStreamWithAnError_InsteadOfBufferingWithoutBound()
    {
        var huge = new string('x', SseDataReader.MaxEventBytes + 10);
        await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync($"data: {huge}\n\n", 1 << 20));
        var lines = string.Concat(Enumerable.Repeat("data: " + new string('y', 1000) + "\n", (SseDataReader.MaxEventBytes / 1000) + 10));
        await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(lines + "\n", 1 << 20));
    }
}
