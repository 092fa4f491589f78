using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Platform.Silo.Auth;

namespace Platform.Tests.Auth;

public sealed class FailedAuthenticationLimitTests
{
    private static DefaultHttpContext Request(string address, bool failed)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        if (failed)
        {
            context.Features.Set(AuthenticationFailure.Instance);
        }

        return context;
    }

    [Fact]
    public void Failures_BeyondTheLimit_AreRefusedWithRetryAfter_PerAddress()
    {
        using var limiter = FailedAuthenticationLimit.Create(3, TimeSpan.FromSeconds(60));

        for (var i = 0; i < 3; i++)
        {
            using var lease = limiter.AttemptAcquire(Request("203.0.113.1", failed: true));
            Assert.True(lease.IsAcquired);
        }

        using var refused = limiter.AttemptAcquire(Request("203.0.113.1", failed: true));
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        using var otherAddress = limiter.AttemptAcquire(Request("203.0.113.2", failed: true));
        Assert.True(otherAddress.IsAcquired);
    }

    [Fact]
    public void Successes_FromAnExhaustedAddress_AreNotLimited()
    {
        using var limiter = FailedAuthenticationLimit.Create(1, TimeSpan.FromSeconds(60));
        limiter.AttemptAcquire(Request("203.0.113.1", failed: true)).Dispose();
        using var refused = limiter.AttemptAcquire(Request("203.0.113.1", failed: true));
        Assert.False(refused.IsAcquired);

        for (var i = 0; i < 100; i++)
        {
            using var lease = limiter.AttemptAcquire(Request("203.0.113.1", failed: false));
            Assert.True(lease.IsAcquired);
        }
    }

    [Fact]
    public void LimitZero_IsOff()
    {
        using var limiter = FailedAuthenticationLimit.Create(0, TimeSpan.FromSeconds(60));
        for (var i = 0; i < 100; i++)
        {
            using var lease = limiter.AttemptAcquire(Request("203.0.113.1", failed: true));
            Assert.True(lease.IsAcquired);
        }
    }

    [Theory]
    [InlineData("203.0.113.9", "203.0.113.9")]
    [InlineData("::ffff:203.0.113.9", "203.0.113.9")]
    [InlineData("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64")]
    public void Partition_IsTheIPv4Address_OrTheIPv6Slash64(string address, string partition) =>
        Assert.Equal(partition, FailedAuthenticationLimit.PartitionOf(IPAddress.Parse(address)));
}
