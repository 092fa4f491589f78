using Platform.Silo.Hosting;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddPlatform();
    var app = builder.Build();
    app.MapPlatform();
    await app.RunAsync();
    return 0;
}
catch (PlatformConfigurationException ex)
{
    await Console.Error.WriteLineAsync($"Configuration error: {ex.Message}");
    return 2;
}

/// <summary>Entry point; public for <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
