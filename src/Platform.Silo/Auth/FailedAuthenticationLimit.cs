using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Platform.Silo.Hosting;
using Platform.Silo.Http;

namespace Platform.Silo.Auth;

/// <summary>
/// Limits failed authentications per client address with the ASP.NET Core rate limiter: a request whose
/// credentials were refused takes a permit from its address's fixed window; once the window is spent the
/// address's failures are answered 429 with <c>Retry-After</c>. Requests that authenticate, and requests that
/// send no credentials, take no permit, so valid callers behind the same address are never throttled by it.
/// Runs after authentication (which marks failures) and before authorization (which would answer 401).
/// </summary>
public static class FailedAuthenticationLimit
{
    private const string Message = "Too many failed authentications from this address; retry after the time in Retry-After.";

    public static IServiceCollection AddFailedAuthenticationLimit(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<PlatformOptions>>((limiter, platform) =>
        {
            var options = platform.Value.Authentication;
            var window = TimeSpan.FromSeconds(options.FailureWindowSeconds);
            limiter.GlobalLimiter = Create(options.FailureLimit, window);
            limiter.OnRejected = (context, _) => RejectAsync(context, window);
        });
        return services;
    }

    public static IApplicationBuilder UseFailedAuthenticationLimit(this IApplicationBuilder app) => app.UseRateLimiter();

    /// <summary>The limiter: no limit for requests not marked <see cref="AuthenticationFailure"/>, one window per address for those that are.</summary>
    public static PartitionedRateLimiter<HttpContext> Create(int failureLimit, TimeSpan window) =>
        PartitionedRateLimiter.Create<HttpContext, string>(context =>
            failureLimit == 0 || context.Features.Get<AuthenticationFailure>() is null
                ? RateLimitPartition.GetNoLimiter(string.Empty)
                : RateLimitPartition.GetFixedWindowLimiter(PartitionOf(context.Connection.RemoteIpAddress), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = failureLimit,
                    Window = window,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));

    /// <summary>
    /// The address a failure counts against: IPv4 addresses one by one, IPv6 by /64 (one host usually holds a
    /// whole /64). Requests without a network address (in-process hosts) share one partition.
    /// </summary>
    public static string PartitionOf(IPAddress? address)
    {
        if (address is null)
        {
            return "local";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private static ValueTask RejectAsync(OnRejectedContext context, TimeSpan window)
    {
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : window;
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return new ValueTask(ErrorResponses.WriteAsync(
            context.HttpContext, StatusCodes.Status429TooManyRequests, Message, "too_many_failed_authentications"));
    }
}
