namespace Platform;

/// <summary>Kinds of refusal a grain can answer with; the HTTP layer maps each to a status code.</summary>
[GenerateSerializer]
[Alias("Platform.ErrorKind")]
public enum ErrorKind
{
    Invalid = 0,
    NotFound = 1,
    Conflict = 2,
    Forbidden = 3,

    /// <summary>An upstream model provider failed or answered garbage (502).</summary>
    BadGateway = 4,

    /// <summary>An upstream model provider did not answer in time (504).</summary>
    GatewayTimeout = 5,

    /// <summary>Every upstream route is rate-limited (429); <see cref="PlatformException.RetryAfterSeconds"/> says when to come back.</summary>
    RateLimited = 6,

    /// <summary>Nothing was changed and the same request can succeed later (503); <see cref="PlatformException.RetryAfterSeconds"/> says when.</summary>
    Unavailable = 7,
}

/// <summary>A domain refusal with a message meant for the caller; never carries secrets.</summary>
[GenerateSerializer]
[Alias("Platform.PlatformException")]
public sealed class PlatformException : Exception
{
    public PlatformException(ErrorKind kind, string message, string? field = null, string? code = null)
        : base(message)
    {
        Kind = kind;
        Field = field;
        Code = code;
    }

    [Id(0)]
    public ErrorKind Kind { get; private set; }

    [Id(1)]
    public string? Field { get; private set; }

    /// <summary>A machine-readable code (OpenAI's <c>error.code</c>), when more specific than the kind.</summary>
    [Id(2)]
    public string? Code { get; private set; }

    /// <summary>Seconds the caller should wait before retrying (sent as <c>Retry-After</c>), when known.</summary>
    [Id(3)]
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Provider calls made before the request failed (every route and retry), when it got as far as calling.</summary>
    [Id(4)]
    public int? Attempts { get; init; }

    public static PlatformException NotFound(string what) => new(ErrorKind.NotFound, $"{what} was not found.");
}
