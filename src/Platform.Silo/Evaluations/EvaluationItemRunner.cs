using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using Platform.Deployments;
using Platform.Evaluations;
using Platform.Evaluations.Evaluators;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Silo.Prompts;
using Platform.Tenants;

namespace Platform.Silo.Evaluations;

/// <summary>
/// Runs one dataset item through the gateway's own stages (render the release's prompt with the item's variables, route,
/// admit on the tenant's budgets, call with the route's retries and fallbacks, settle), retries transient failures of the
/// whole call up to the run's <see cref="EvaluationRunSpec.MaxItemRetries"/>, then scores the output with the run's
/// evaluators. Judges are called the same way (<see cref="JudgeChatClient"/>), their cost kept apart from the item's.
/// </summary>
public sealed class EvaluationItemRunner(ChatPipeline pipeline, EvaluatorCache evaluators, TimeProvider time) : IEvaluationItemRunner
{
    public async Task<EvaluationItemResult> RunAsync(EvaluationRunContext run, DatasetItem item, int index, CancellationToken cancellationToken)
    {
        var caller = Caller(run);
        var started = Stopwatch.GetTimestamp();
        ChatResponse? response = null;
        UsageCost usage = default;
        string? error = null;
        var attempts = 0;
        IReadOnlyList<ChatMessage> messages = [];
        for (var retry = 0; ; retry++)
        {
            attempts++;
            try
            {
                (response, usage, messages) = await CallAsync(pipeline, caller, run.Release, Request(item), cancellationToken);
                error = null;
                break;
            }
            catch (PlatformException ex) when (Transient(ex) && retry < run.Spec.MaxItemRetries)
            {
                await Task.Delay(Backoff(retry, ex), time, cancellationToken);
            }
            catch (PlatformException ex)
            {
                error = ex.Message;
                break;
            }
        }

        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (error is not null || response is null)
        {
            return new EvaluationItemResult(index, item.Id, null, latency, 0, 0, 0, 0, error ?? "no answer", [], attempts);
        }

        var judges = new JudgeCosts();
        var scores = await ScoreAsync(run, caller, item, messages, response, judges, cancellationToken);
        var output = response.Text;
        return new EvaluationItemResult(
            index,
            item.Id,
            output.Length <= EvaluationItemResult.MaxOutputChars ? output : output[..EvaluationItemResult.MaxOutputChars],
            latency,
            usage.InputTokens,
            usage.OutputTokens,
            NanoUsd(usage.CostUsd),
            judges.NanoUsd,
            null,
            scores,
            attempts);
    }

    /// <summary>One call through the pipeline: render, route, admit, call, settle. A budget refusal halts the run.</summary>
    internal static async Task<(ChatResponse Response, UsageCost Usage, IReadOnlyList<ChatMessage> Messages)> CallAsync(
        ChatPipeline pipeline, Caller caller, Release release, GatewayRequest request, CancellationToken cancellationToken)
    {
        var resolved = ReleasePrecedence.WithRelease(request, release);
        if (release.Prompt is null)
        {
            // The item's variables ride on a nameless prompt reference; with no prompt in the release there is nothing to render.
            resolved = resolved with { Prompt = null };
        }

        var plan = new ChatPlan(resolved, release.ModelRoute, null);
        plan = await pipeline.RenderAsync(caller, plan);
        var route = pipeline.SelectRoute(caller, plan);
        var (admission, refusal) = await pipeline.AdmitAsync(caller, plan, route, null, cancellationToken);
        if (refusal is not null)
        {
            throw new EvaluationHaltedException("The tenant's budget refused the run's calls: " + refusal.Error.Message);
        }

        try
        {
            var (response, servedBy) = await pipeline.Executor.CompleteAsync(route, plan.Request, cancellationToken);
            var usage = UsageMeter.Settle(servedBy.Route, plan.Request, response.Usage, response.Text);
            admission!.Settle(usage, servedBy.Route.Name);
            return (response, usage, plan.Request.Messages);
        }
        finally
        {
            admission!.Release();
        }
    }

    internal static Caller Caller(EvaluationRunContext run) => new(run.KeyId, run.Tenant, Role.Operator);

    /// <summary>The item as a chat request: its messages, and its input as the prompt's variables.</summary>
    internal static GatewayRequest Request(DatasetItem item)
    {
        var messages = item.Messages is { Count: > 0 } m
            ? m.Select(x => new ChatMessage(new ChatRole(x.Role), x.Content)).ToList()
            : [];
        var variables = item.Input is { Count: > 0 } input
            ? input.ToDictionary(kv => kv.Key, kv => JsonSerializer.SerializeToElement(kv.Value), StringComparer.Ordinal)
            : null;
        return new GatewayRequest("", messages, new ChatOptions(), false, false, null, new PromptReference("", null, null, variables));
    }

    private async Task<IReadOnlyList<ItemScore>> ScoreAsync(
        EvaluationRunContext run, Caller caller, DatasetItem item, IReadOnlyList<ChatMessage> messages, ChatResponse response, JudgeCosts judges,
        CancellationToken cancellationToken)
    {
        var scorers = await evaluators.GetAsync(run, cancellationToken);
        var context = new List<EvaluationContext>(2);
        if (item.Expected is { } expected)
        {
            context.Add(new ExpectedOutputContext(expected));
        }

        if (item.Context is { } reference)
        {
            context.Add(new ReferenceContext(reference));
        }

        var scores = new List<ItemScore>(scorers.Count);
        foreach (var (spec, evaluator) in scorers)
        {
            var configuration = spec.JudgeRoute is { Length: > 0 } judge ? new ChatConfiguration(new JudgeChatClient(pipeline, caller, judge, judges)) : null;
            var result = await evaluator.EvaluateAsync(messages, response, configuration, context, cancellationToken);
            var (score, passed, reason) = EvaluatorScore.Read(result, spec.Name);
            scores.Add(new ItemScore(spec.Name, score, passed, reason));
        }

        return scores;
    }

    private static bool Transient(PlatformException ex) =>
        ex.Kind is ErrorKind.BadGateway or ErrorKind.GatewayTimeout or ErrorKind.RateLimited or ErrorKind.Unavailable;

    private static TimeSpan Backoff(int retry, PlatformException ex) =>
        ex.RetryAfterSeconds is { } seconds && seconds is > 0 and <= 30
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromMilliseconds(Math.Min(5_000, 200 * (1 << Math.Min(retry, 5))));

    internal static long NanoUsd(decimal usd) => (long)decimal.Round(usd * 1_000_000_000m, MidpointRounding.AwayFromZero);
}
