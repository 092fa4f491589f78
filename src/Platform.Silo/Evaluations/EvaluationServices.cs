using Platform.Evaluations;

namespace Platform.Silo.Evaluations;

public static class EvaluationServices
{
    /// <summary>Evaluation runs' host side: the item runner the run grains call, the evaluator cache, and the service the API uses.</summary>
    public static IServiceCollection AddPlatformEvaluations(this IServiceCollection services)
    {
        services.AddSingleton<EvaluatorCache>();
        services.AddSingleton<IEvaluationItemRunner, EvaluationItemRunner>();
        services.AddSingleton<EvaluationService>();
        return services;
    }
}
