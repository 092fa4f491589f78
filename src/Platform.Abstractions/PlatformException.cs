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
}

/// <summary>A domain refusal with a message meant for the caller; never carries secrets.</summary>
[GenerateSerializer]
[Alias("Platform.PlatformException")]
public sealed class PlatformException : Exception
{
    public PlatformException(ErrorKind kind, string message, string? field = null)
        : base(message)
    {
        Kind = kind;
        Field = field;
    }

    [Id(0)]
    public ErrorKind Kind { get; private set; }

    [Id(1)]
    public string? Field { get; private set; }

    public static PlatformException NotFound(string what) => new(ErrorKind.NotFound, $"{what} was not found.");
}
