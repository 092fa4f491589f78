using System.IO.Pipelines;
using System.Text;
using Platform.Providers.OpenAi;

namespace Platform.Tests.Gateway;

public sealed class ReadAheadStreamTests
{
    [Fact]
    public async Task Read_ReturnsWhatHasArrived_WithoutWaitingToFillItsBuffer_AndHandsItOutInTheSizesAskedFor()
    {
        var pipe = new Pipe();
        await using var stream = new ReadAheadStream(pipe.Reader.AsStream());
        var destination = new byte[2];

        await pipe.Writer.WriteAsync("a"u8.ToArray());
        Assert.Equal(1, await stream.ReadAsync(destination));
        Assert.Equal("a", Encoding.ASCII.GetString(destination, 0, 1));

        await pipe.Writer.WriteAsync("bcd"u8.ToArray());
        Assert.Equal(2, await stream.ReadAsync(destination));
        Assert.Equal("bc", Encoding.ASCII.GetString(destination));
        Assert.Equal(1, await stream.ReadAsync(destination));
        Assert.Equal("d", Encoding.ASCII.GetString(destination, 0, 1));

        var pending = stream.ReadAsync(destination).AsTask();
        Assert.False(pending.IsCompleted);
        await pipe.Writer.CompleteAsync();
        Assert.Equal(0, await pending);
    }
}
