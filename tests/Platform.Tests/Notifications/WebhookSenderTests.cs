using System.Net;
using System.Net.Sockets;
using System.Text;
using Platform.Notifications;

namespace Platform.Tests.Notifications;

/// <summary>The connect-time address check, against a real listener: a refused delivery never opens a connection.</summary>
public sealed class WebhookSenderTests : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.IPv6Any, 0);
    private int _accepted;

    public WebhookSenderTests()
    {
        _listener.Server.DualMode = true;
        _listener.Start();
        _ = AcceptAsync();
    }

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Dispose();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                using var client = await _listener.AcceptTcpClientAsync();
                Interlocked.Increment(ref _accepted);
                var stream = client.GetStream();
                var buffer = new byte[8192];
                _ = await stream.ReadAsync(buffer);
                await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }
    }

    private static Notification Sample() => new("canary.started", "t1", "deployment/d", DateTimeOffset.UnixEpoch, "why", null, null, null, "n1");

    /// <summary>A name resolved at connect time to loopback, and literal loopback addresses in several spellings.</summary>
    public static TheoryData<string> InwardNames() => new() { "localhost", "LOCALHOST", "127.0.0.1", "127.1", "[::ffff:127.0.0.1]" };

    [Theory]
    [MemberData(nameof(InwardNames))]
    public async Task HostResolvingToAPrivateAddress_IsRefusedAtConnectTime_WithoutAConnection(string host)
    {
        var sender = WebhookSender.Create(allowPrivateNetworks: false);

        var delivered = await sender.SendAsync($"http://{host}:{Port}/hook", "secret-0123456789", Sample(), CancellationToken.None);

        Assert.False(delivered);
        Assert.Equal(0, Volatile.Read(ref _accepted));
    }

    [Theory]
    [MemberData(nameof(InwardNames))]
    public async Task PrivateAddresses_AreReachedWhenTheOperatorAllowsThem(string host)
    {
        var sender = WebhookSender.Create(allowPrivateNetworks: true);

        var delivered = await sender.SendAsync($"http://{host}:{Port}/hook", "secret-0123456789", Sample(), CancellationToken.None);

        Assert.True(delivered);
        Assert.Equal(1, Volatile.Read(ref _accepted));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("2001:4860:4860::8888", false)]
    public void IsPrivate_ClassifiesAddresses(string address, bool expected) =>
        Assert.Equal(expected, NetworkAddresses.IsPrivate(IPAddress.Parse(address)));
}
