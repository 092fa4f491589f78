using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.AI;
using Platform.RequestLog;
using Platform.Silo.Auth;

namespace Platform.Silo.Gateway;

/// <summary>
/// What the endpoint learned about one <c>/v1</c> request as it went, for its request log row. A mutable struct that lives
/// in the endpoint's frame (no allocation); <see cref="ToRecord"/> makes the one row object at the end.
/// </summary>
public struct RequestFacts(string operation)
{
    public string Operation { get; } = operation;
    public long Started { get; } = Stopwatch.GetTimestamp();
    public DateTime At { get; } = Microseconds(DateTime.UtcNow);
    public string? Model { get; set; }
    public bool Stream { get; set; }
    public string? User { get; set; }
    public ChatPlan? Plan { get; set; }
    public string? Route { get; set; }
    public ChatOutcome? Outcome { get; set; }
    public int Status { get; set; }
    public string? ErrorCode { get; set; }

    /// <summary>The embedding inputs, kept for the row only when the tenant stores content.</summary>
    public IReadOnlyList<string>? Inputs { get; set; }

    public void Failed(Exception exception, bool clientGone)
    {
        if (clientGone)
        {
            (Status, ErrorCode) = (499, "client_closed_request");
            return;
        }

        var (status, _, code, _) = Http.PlatformExceptionHandler.Classify(exception);
        (Status, ErrorCode) = (status, code);
        FailedAttempts = (exception as PlatformException)?.Attempts ?? 0;
    }

    /// <summary>Provider calls made by a request that failed after calling (every route and retry).</summary>
    public int FailedAttempts { get; set; }

    public readonly RequestRecord ToRecord(string requestId, Caller caller)
    {
        var deployment = Plan?.Deployment;
        var (promptName, promptVersion) = SplitPrompt(Plan?.PromptVersion);
        var outcome = Outcome;
        var usage = outcome?.Usage ?? default;
        var status = Status != 0 ? Status : outcome is { Status: > 0 } o ? o.Status : 200;
        var limit = caller.ContentLimitBytes;
        return new RequestRecord
        {
            Id = requestId,
            TenantId = caller.TenantId,
            At = At,
            Operation = Operation,
            Stream = Stream,
            KeyId = caller.KeyId,
            EndUser = User,
            Deployment = deployment?.Deployment.Name,
            Arm = deployment?.Arm,
            Revision = deployment?.Deployment.Revision,
            RequestedModel = Model,
            ServedRoute = outcome?.Route ?? Route,
            PromptName = promptName,
            PromptVersion = promptVersion,
            Status = status,
            ErrorCode = ErrorCode ?? outcome?.ErrorCode,
            Success = status < 400 && (outcome?.Success ?? ErrorCode is null),
            LatencyMs = Stopwatch.GetElapsedTime(Started).TotalMilliseconds,
            TimeToFirstTokenMs = outcome?.TimeToFirstTokenMs,
            InputTokens = usage.InputTokens,
            CachedTokens = usage.CachedInputTokens,
            OutputTokens = usage.OutputTokens,
            CostNanoUsd = NanoUsd.FromUsd(usage.CostUsd),
            Attempts = outcome?.Attempts ?? FailedAttempts,
            Fallback = outcome?.Fallback ?? false,
            PromptText = limit > 0 ? Cap(PromptText(), limit) : null,
            CompletionText = limit > 0 ? Cap(CompletionText(outcome), limit) : null,
        };
    }

    /// <summary>The longest prefix of <paramref name="text"/> of at most <paramref name="maxBytes"/> UTF-8 bytes (never half a character).</summary>
    public static string? Cap(string? text, int maxBytes)
    {
        if (text is null || Encoding.UTF8.GetMaxByteCount(text.Length) <= maxBytes || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var bytes = 0;
        var i = 0;
        while (i < text.Length)
        {
            var width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(text.AsSpan(i, width));
            if (bytes + size > maxBytes)
            {
                break;
            }

            bytes += size;
            i += width;
        }

        return text[..i];
    }

    private readonly string? PromptText()
    {
        if (Inputs is { } inputs)
        {
            return string.Join('\n', inputs);
        }

        if (Plan?.Request.Messages is not { } messages)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (var message in messages)
        {
            text.Append(message.Role.Value).Append(": ").Append(message.Text).Append('\n');
        }

        return text.ToString();
    }

    private static string? CompletionText(ChatOutcome? outcome) => outcome?.Completion switch
    {
        ChatResponse response => response.Text,
        StringBuilder streamed => streamed.ToString(),
        _ => null,
    };

    private static (string? Name, string? Version) SplitPrompt(string? nameAtVersion)
    {
        if (nameAtVersion is null)
        {
            return (null, null);
        }

        var at = nameAtVersion.LastIndexOf('@');
        return at < 0 ? (nameAtVersion, null) : (nameAtVersion[..at], nameAtVersion[(at + 1)..]);
    }

    /// <summary>Both stores keep microseconds, so a row read back has the time it was written with.</summary>
    private static DateTime Microseconds(DateTime at) => new(at.Ticks - (at.Ticks % 10), DateTimeKind.Utc);
}
