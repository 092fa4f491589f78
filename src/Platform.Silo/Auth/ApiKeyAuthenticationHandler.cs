using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Platform.Silo.Http;
using Platform.Tenants;

namespace Platform.Silo.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> (as OpenAI SDKs send it), the <c>api-key</c>
/// header (as Azure OpenAI SDKs send it) and, only under <c>/dashboard</c>, HTTP Basic with the key as password
/// (a browser replays a remembered Basic login on any request to the host, including cross-site ones, so
/// nothing else accepts it). Every failure is marked on the request with <see cref="AuthenticationFailure"/>
/// for the failed-authentication rate limit.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator authenticator) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "platform:tenant";
    public const string RoleClaim = "platform:role";
    public const string KeyIdClaim = "platform:key";

    /// <summary>Where the Orleans Dashboard is served: the only place HTTP Basic is accepted.</summary>
    public const string DashboardPath = "/dashboard";

    private const string MissingKey = "No API key was sent. Send it as 'Authorization: Bearer <key>' or in the 'api-key' header.";
    private const string MalformedKey = "The Authorization header is malformed. Use 'Authorization: Bearer <key>'.";
    private const string BasicOutsideDashboard =
        "Basic authentication is accepted only by the dashboard. Send the key as 'Authorization: Bearer <key>'.";
    private const string MalformedSecret = "The API key is malformed: expected " + ApiKeySecret.FormatDescription + ".";
    private const string InvalidKey = "The API key is not valid: it is unknown, revoked or expired, or its tenant is disabled.";

    private string? _failure;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var secret = ReadSecret(Request, out var malformed, out var basic);
        if (basic && !IsDashboardPath(Request))
        {
            return Fail(BasicOutsideDashboard);
        }

        if (malformed)
        {
            return Fail(MalformedKey);
        }

        if (secret is null)
        {
            _failure = MissingKey;
            return AuthenticateResult.NoResult();
        }

        if (!ApiKeySecret.IsWellFormed(secret))
        {
            return Fail(MalformedSecret);
        }

        var caller = await authenticator.AuthenticateAsync(secret).ConfigureAwait(false);
        if (caller is null)
        {
            return Fail(InvalidKey);
        }

        Context.Features.Set(caller);
        var identity = new ClaimsIdentity(
            [
                new Claim(KeyIdClaim, caller.KeyId),
                new Claim(TenantClaim, caller.TenantId),
                new Claim(RoleClaim, caller.Role.ToName()),
            ],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Fail(string message)
    {
        _failure = message;
        Context.Features.Set(AuthenticationFailure.Instance);
        return AuthenticateResult.Fail(message);
    }

    private static bool IsDashboardPath(HttpRequest request) => request.Path.StartsWithSegments(DashboardPath);

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (IsDashboardPath(Request))
        {
            Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans Dashboard\", charset=\"UTF-8\"";
        }

        return ErrorResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized, _failure ?? MissingKey, "invalid_api_key");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ErrorResponses.WriteAsync(Context, StatusCodes.Status403Forbidden, "This API key's role may not call this endpoint.", "insufficient_role");

    internal static string? ReadSecret(HttpRequest request, out bool malformed, out bool basic)
    {
        malformed = false;
        basic = false;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length > 0)
        {
            if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                var token = authorization["Bearer ".Length..].Trim();
                malformed = token.Length == 0 || token.Contains(' ', StringComparison.Ordinal);
                return malformed ? null : token;
            }

            if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            {
                basic = true;
                return ReadBasicPassword(authorization["Basic ".Length..].Trim(), out malformed);
            }

            malformed = true;
            return null;
        }

        var apiKey = request.Headers["api-key"].ToString().Trim();
        return apiKey.Length > 0 ? apiKey : null;
    }

    private static string? ReadBasicPassword(string encoded, out bool malformed)
    {
        malformed = true;
        Span<byte> buffer = stackalloc byte[512];
        if (encoded.Length > 680 || !Convert.TryFromBase64String(encoded, buffer, out var written))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(buffer[..written]);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || colon == text.Length - 1)
        {
            return null;
        }

        malformed = false;
        return text[(colon + 1)..];
    }
}

/// <summary>Set on a request whose credentials were refused; what the failed-authentication limit counts.</summary>
public sealed class AuthenticationFailure
{
    public static readonly AuthenticationFailure Instance = new();

    private AuthenticationFailure()
    {
    }
}
