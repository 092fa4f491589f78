using System.Buffers;
using System.IO.Pipelines;
using Platform.Silo.Gateway;

namespace Platform.Tests.Gateway;

public sealed class HeldResponseWriterTests
{
    [Fact]
    public async Task Writes_AreHeldUntilTheFlush_ThenReachTheResponseInOrder_GrowingPastTheFirstBuffer()
    {
        var response = new Pipe(new PipeOptions(useSynchronizationContext: false));
        using var held = new HeldResponseWriter(response.Writer);

        held.Write("first "u8);
        var large = Enumerable.Range(0, 10_000).Select(i => (byte)('a' + (i % 26))).ToArray();
        held.Write(large);
        Assert.Equal(6 + large.Length, held.UnflushedBytes);
        Assert.False(response.Reader.TryRead(out _));

        await held.FlushAsync();
        Assert.Equal(0, held.UnflushedBytes);
        held.Write(" last"u8);
        await held.FlushAsync();
        response.Writer.Complete();

        var all = new List<byte>();
        while (true)
        {
            var read = await response.Reader.ReadAsync();
            all.AddRange(read.Buffer.ToArray());
            response.Reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal([.. "first "u8.ToArray(), .. large, .. " last"u8.ToArray()], all);
    }
}
