using Platform.Gateway;
using Platform.Providers.Catalog;
using Platform.Silo.Auth;
using Platform.Silo.Prompts;

namespace Platform.Silo.Gateway;

/// <summary>A request on its way through the pipeline: what will be executed, and the deployment arm serving it, if any.</summary>
public sealed record ChatPlan(GatewayRequest Request, string ClientModel, DeploymentRoute? Deployment, string? PromptVersion = null);

/// <summary>
/// <c>POST /v1/chat/completions</c> as the stages of <c>ARCHITECTURE.md</c>, in order: authenticate (the ASP.NET Core
/// handler, before this), <see cref="ResolveAsync">resolve</see> (deployment arm and release), <see cref="RenderAsync">render</see>
/// (the prompt version), <see cref="SelectRoute">route</see>, <see cref="AdmitAsync">admit</see> (budgets), call
/// (<see cref="ChatExecutor"/>), <see cref="UsageMeter">settle</see> (<see cref="Admission.Settle"/>) and record
/// (<see cref="InferenceRecorder"/>). The HTTP endpoint only reads the request and writes the response, JSON or
/// server-sent events; guard and cache stages will take their place between admit and call.
/// </summary>
public sealed class ChatPipeline(
    ModelCatalogProvider catalogs, ChatExecutor executor, PromptService prompts, DeploymentRouter deployments, InferenceRecorder recorder, BudgetAdmission budgets)
{
    public ChatExecutor Executor => executor;

    public InferenceRecorder Recorder => recorder;

    /// <summary>Resolve: the tenant's scope on outgoing identifiers, and the deployment arm whose release decides the route and prompt.</summary>
    public async ValueTask<ChatPlan> ResolveAsync(Caller caller, GatewayRequest request, string? user)
    {
        ReleasePrecedence.ScopeToTenant(request, caller.TenantId);
        var clientModel = request.Model;
        var deployment = clientModel.Length > 0 ? await deployments.RouteAsync(caller.TenantId, clientModel, user) : null;
        return deployment is null
            ? new ChatPlan(request, clientModel, null)
            : new ChatPlan(ReleasePrecedence.WithRelease(request, deployment.Release), clientModel, deployment);
    }

    /// <summary>Render: the prompt version named by the release or the request, its messages prepended and its parameters filled in.</summary>
    public async ValueTask<ChatPlan> RenderAsync(Caller caller, ChatPlan plan)
    {
        if (plan.Request.Prompt is not { } reference)
        {
            return plan;
        }

        var rendered = await prompts.RenderAsync(caller.TenantId, reference);
        return plan with
        {
            Request = ReleasePrecedence.WithPrompt(plan.Request, rendered),
            PromptVersion = $"{rendered.Version.Prompt}@{rendered.Version.Version}",
        };
    }

    /// <summary>Route: the catalog route that will serve the plan. A deployment's release is the tenant's indirect path: direct model access does not apply to it.</summary>
    public ResolvedRoute SelectRoute(Caller caller, ChatPlan plan)
    {
        if (plan.Request.Model.Length == 0)
        {
            throw new PlatformException(ErrorKind.Invalid, "you must provide a model parameter (the prompt version names none)", "model", "invalid_value");
        }

        return ModelAccess.Find(caller, catalogs, plan.Request.Model, ModelModes.Chat, direct: plan.Deployment is null);
    }

    /// <summary>
    /// Admit: the request's worst case reserved on every budget scope that applies (tenant, key, deployment, end user),
    /// or the refusal. The admission must be settled or released once the call is over.
    /// </summary>
    public ValueTask<(Admission? Admission, BudgetRefusal? Refusal)> AdmitAsync(
        Caller caller, ChatPlan plan, ResolvedRoute route, string? user, CancellationToken aborted = default) =>
        budgets.AdmitAsync(caller, plan, route, executor.Routes(route), user, aborted);
}

/// <summary>Which catalog routes a caller may use, by mode.</summary>
public static class ModelAccess
{
    public static ResolvedRoute Find(Caller caller, ModelCatalogProvider catalogs, string model, string mode, bool direct = true)
    {
        var route = (caller.AllowDirectModelAccess || !direct ? catalogs.Current.Find(model) : null) ?? throw NotFound(model);
        return route.Route.Mode == mode
            ? route
            : throw new PlatformException(
                ErrorKind.Invalid,
                mode == ModelModes.Chat
                    ? $"The model '{model}' is an embedding model; call /v1/embeddings."
                    : $"The model '{model}' is a chat model; call /v1/chat/completions.",
                "model",
                "model_not_supported");
    }

    /// <summary>The caller's model name is echoed back only in part: a 1 MB name must not make a 1 MB error.</summary>
    public static PlatformException NotFound(string model) => new(
        ErrorKind.NotFound,
        $"The model '{(model.Length > 100 ? model[..100] + "..." : model)}' does not exist or you do not have access to it.",
        "model",
        ErrorCodes.ModelNotFound);
}
