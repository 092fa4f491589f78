using Platform.Deployments;
using Platform.Evaluations;
using Platform.Evaluations.Evaluators;
using Platform.Gateway;
using Platform.Prompts;
using Platform.Silo.Apis;
using Platform.Silo.Auth;
using Platform.Silo.Gateway;
using Platform.Tenants;

namespace Platform.Silo.Evaluations;

/// <summary>
/// Starting runs (everything a run needs is checked before anything is called or billed), reading them, and comparing two.
/// </summary>
public sealed class EvaluationService(IGrainFactory grains, ModelCatalogProvider catalogs, EvaluatorCache evaluators)
{
    /// <summary>Checks the request, resolves the release it runs, and starts the run.</summary>
    public async Task<EvaluationRunInfo> StartAsync(Caller caller, Actor actor, EvaluationRunSpec spec)
    {
        var tenant = caller.TenantId;
        if (spec.Concurrency is < 1 or > EvaluationRunLimits.MaxConcurrency)
        {
            throw Invalid($"concurrency must be between 1 and {EvaluationRunLimits.MaxConcurrency}.", "concurrency");
        }

        if (spec.MaxItemRetries is < 0 or > EvaluationRunLimits.MaxItemRetries)
        {
            throw Invalid($"maxItemRetries must be between 0 and {EvaluationRunLimits.MaxItemRetries}.", "maxItemRetries");
        }

        if (spec.Name is { Length: > 200 })
        {
            throw Invalid("name must be at most 200 characters.", "name");
        }

        if (EvaluatorFactory.ValidateAll(spec.Evaluators) is { } invalid)
        {
            throw Invalid(invalid, "evaluators");
        }

        var dataset = await DatasetAsync(tenant, spec.Dataset, spec.DatasetVersion);
        var release = await ReleaseAsync(tenant, spec.Target);
        for (var i = 0; i < spec.Evaluators.Count; i++)
        {
            if (spec.Evaluators[i].JudgeRoute is { Length: > 0 } judge)
            {
                var route = catalogs.Current.Find(judge);
                if (route is null || route.Route.Mode != ModelModes.Chat)
                {
                    throw new PlatformException(ErrorKind.Invalid, $"evaluators[{i}].judgeRoute: '{judge}' is not a chat model route.", $"evaluators[{i}].judgeRoute");
                }
            }
        }

        // The judges' rubrics must be readable now, not fail every item later.
        await evaluators.BuildAsync(tenant, spec.Evaluators);
        var resolved = spec with { DatasetVersion = dataset.Version };
        var id = EvaluationKeys.NewRunId();
        return await Run(tenant, id).StartAsync(resolved, release, dataset.ItemCount, actor);
    }

    public async Task<EvaluationRunInfo> GetAsync(string tenant, string id) =>
        await Run(tenant, id).GetAsync() ?? throw PlatformException.NotFound($"Evaluation run '{id}'");

    public IEvaluationRunGrain Run(string tenant, string id) =>
        IsRunId(id) ? grains.GetGrain<IEvaluationRunGrain>(EvaluationKeys.Run(tenant, id)) : throw PlatformException.NotFound($"Evaluation run '{id}'");

    /// <summary>Every stored result of a run, page by page, in dataset order.</summary>
    public async IAsyncEnumerable<EvaluationItemResult> ResultsAsync(string tenant, string id)
    {
        var run = Run(tenant, id);
        int? offset = 0;
        while (offset is { } at)
        {
            var page = await run.GetResultsAsync(at, 500);
            foreach (var result in page.Items)
            {
                yield return result;
            }

            offset = page.Next;
        }
    }

    /// <summary>
    /// A run against a baseline run of the same dataset version, evaluator by evaluator over the items both scored:
    /// the paired difference, its confidence interval and significance, and the items that regressed or improved.
    /// </summary>
    public async Task<RunComparison> CompareAsync(string tenant, string candidateId, string baselineId)
    {
        var candidate = await GetAsync(tenant, candidateId);
        var baseline = await GetAsync(tenant, baselineId);
        if (candidate.Spec.Dataset != baseline.Spec.Dataset || candidate.Spec.DatasetVersion != baseline.Spec.DatasetVersion)
        {
            throw Invalid(
                $"Runs compare only on the same dataset version: '{candidateId}' ran {candidate.Spec.Dataset} v{candidate.Spec.DatasetVersion}, "
                + $"'{baselineId}' ran {baseline.Spec.Dataset} v{baseline.Spec.DatasetVersion}.",
                "baseline");
        }

        var comparisons = await RunScores.CompareAsync(grains, tenant, candidate, baseline);
        return new RunComparison(candidateId, baselineId, candidate.Spec.Dataset, candidate.Spec.DatasetVersion, comparisons);
    }

    private async Task<DatasetVersionInfo> DatasetAsync(string tenant, string name, int version)
    {
        if (!DatasetNames.IsValid(name))
        {
            throw new PlatformException(ErrorKind.NotFound, $"Dataset '{name}' was not found.", "dataset");
        }

        if (version < 0)
        {
            throw Invalid("datasetVersion must be a version number (0 or absent: the latest).", "datasetVersion");
        }

        return await grains.GetGrain<IDatasetGrain>(DatasetNames.Key(tenant, name)).GetVersionAsync(version)
            ?? throw new PlatformException(
                ErrorKind.NotFound, version == 0 ? $"Dataset '{name}' was not found." : $"Dataset '{name}' has no version {version}.", "datasetVersion");
    }

    /// <summary>The release a target runs: given outright, or what the deployment's arm serves now.</summary>
    private async Task<Release> ReleaseAsync(string tenant, EvaluationTarget? target)
    {
        switch (target)
        {
            case { Release: { } release, Deployment: null }:
                await DeploymentsApi.ValidateReleaseAsync(tenant, release, "target.release", catalogs, grains);
                return release;
            case { Release: null, Deployment: { } name }:
                var snapshot = PromptNames.IsValid(name)
                    ? await grains.GetGrain<IDeploymentGrain>($"{tenant}/{name}").GetAsync()
                    : null;
                if (snapshot is null)
                {
                    throw new PlatformException(ErrorKind.NotFound, $"Deployment '{name}' was not found.", "target.deployment");
                }

                return target.Arm switch
                {
                    null or "stable" => snapshot.Stable,
                    "canary" => snapshot.Canary ?? throw Invalid($"Deployment '{name}' has no canary.", "target.arm"),
                    _ => throw Invalid("target.arm must be 'stable' or 'canary'.", "target.arm"),
                };
            default:
                throw Invalid("target must name a release or a deployment (with its arm), not both.", "target");
        }
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static bool IsRunId(string id) =>
        id.Length is > 4 and <= 64 && id.StartsWith("run_", StringComparison.Ordinal) && id.AsSpan(4).IndexOfAnyExcept(LowerHex) < 0;

    private static PlatformException Invalid(string message, string field) => new(ErrorKind.Invalid, message, field);
}

/// <summary>A run compared with a baseline run, evaluator by evaluator.</summary>
public sealed record RunComparison(string Run, string Baseline, string Dataset, int DatasetVersion, IReadOnlyList<EvaluatorComparison> Evaluators);
