namespace Platform.Tenants;

/// <summary>What an API key may do. Stored by number: never renumber.</summary>
[GenerateSerializer]
[Alias("Platform.Tenants.Role")]
public enum Role
{
    /// <summary>Only <c>/v1</c> inference.</summary>
    Client = 0,

    /// <summary>Read-only access to the tenant's management API.</summary>
    Viewer = 1,

    /// <summary>Prompts, datasets, evaluations.</summary>
    Developer = 2,

    /// <summary>Deployments, rollbacks, budgets.</summary>
    Operator = 3,

    /// <summary>Everything in one tenant, including its keys.</summary>
    Owner = 4,

    /// <summary>The whole platform; creates tenants.</summary>
    Admin = 5,
}

public static class Roles
{
    public const string Admin = "admin";
    public const string Owner = "owner";
    public const string Operator = "operator";
    public const string Developer = "developer";
    public const string Viewer = "viewer";
    public const string Client = "client";

    public static string ToName(this Role role) => role switch
    {
        Role.Admin => Admin,
        Role.Owner => Owner,
        Role.Operator => Operator,
        Role.Developer => Developer,
        Role.Viewer => Viewer,
        _ => Client,
    };

    public static bool TryParse(string? value, out Role role)
    {
        role = value switch
        {
            Admin => Role.Admin,
            Owner => Role.Owner,
            Operator => Role.Operator,
            Developer => Role.Developer,
            Viewer => Role.Viewer,
            Client => Role.Client,
            _ => (Role)(-1),
        };
        return (int)role >= 0;
    }

    /// <summary>Role names, for error messages and documentation.</summary>
    public static readonly IReadOnlyList<string> Names = [Admin, Owner, Operator, Developer, Viewer, Client];
}
