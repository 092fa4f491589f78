using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.AI.Evaluation;
using Platform.Evaluations;
using Platform.Evaluations.Evaluators;
using Platform.Silo.Prompts;

namespace Platform.Silo.Evaluations;

/// <summary>
/// A run's evaluators, built once per run and silo: the judge rubrics are read from the prompt registry (the version or
/// label the spec names, rendered without variables) and every evaluator is created from its spec.
/// </summary>
public sealed class EvaluatorCache(PromptService prompts)
{
    /// <summary>Runs whose evaluators are kept; past it the cache starts over (a run rebuilds its evaluators once).</summary>
    public const int MaxRuns = 256;

    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<(EvaluatorSpec Spec, IEvaluator Evaluator)>>>> _runs = new(StringComparer.Ordinal);

    public Task<IReadOnlyList<(EvaluatorSpec Spec, IEvaluator Evaluator)>> GetAsync(EvaluationRunContext run, CancellationToken cancellationToken)
    {
        if (_runs.Count > MaxRuns)
        {
            _runs.Clear();
        }

        var key = run.Tenant + "/" + run.RunId;
        var entry = _runs.GetOrAdd(key, _ => new Lazy<Task<IReadOnlyList<(EvaluatorSpec, IEvaluator)>>>(() => BuildAsync(run.Tenant, run.Spec.Evaluators)));
        var task = entry.Value;
        if (task.IsFaulted)
        {
            _runs.TryRemove(new KeyValuePair<string, Lazy<Task<IReadOnlyList<(EvaluatorSpec, IEvaluator)>>>>(key, entry));
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <summary>Creates every evaluator; a judge rubric that cannot be read is a <see cref="PlatformException"/> naming it.</summary>
    public async Task<IReadOnlyList<(EvaluatorSpec Spec, IEvaluator Evaluator)>> BuildAsync(string tenant, IReadOnlyList<EvaluatorSpec> specs)
    {
        var built = new List<(EvaluatorSpec, IEvaluator)>(specs.Count);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var rubric = spec.JudgePrompt is { Length: > 0 } prompt ? await RubricAsync(tenant, prompt, spec.JudgePromptVersion, i) : null;
            built.Add((spec, EvaluatorFactory.Create(spec, rubric)));
        }

        return built;
    }

    private async Task<string> RubricAsync(string tenant, string prompt, string? version, int index)
    {
        var number = int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null;
        var label = number is null && !string.IsNullOrWhiteSpace(version) ? version : null;
        try
        {
            var rendered = await prompts.RenderAsync(tenant, new PromptReference(prompt, number, label, null));
            return string.Join("\n\n", rendered.Messages.Select(m => m.Content));
        }
        catch (PlatformException ex)
        {
            throw new PlatformException(ErrorKind.Invalid, $"evaluators[{index}].judgePrompt: {ex.Message}", $"evaluators[{index}].judgePrompt");
        }
    }
}
