using System.Text;
using BenchmarkDotNet.Attributes;
using Fluid;

namespace Platform.Benchmarks;

/// <summary>Bare Fluid on the same three templates: the floor for PromptRenderBenchmark.</summary>
[MemoryDiagnoser]
public class FluidBaseline
{
    private readonly FluidParser _parser = new();
    private IFluidTemplate[] _templates = null!;
    private readonly TemplateOptions _options = new();
    private readonly TemplateOptions _limited = new() { MaxSteps = 100_000, MaxRecursion = 50 };

    [GlobalSetup]
    public void Setup() => _templates =
    [
        _parser.Parse("You are {{ persona }}, answering in {{ language }}. Keep it under {{ max_words }} words."),
        _parser.Parse("Customer {{ customer }} asks: {{ question }}"),
        _parser.Parse("{% if max_words > 50 %}Let me explain in detail.{% else %}Briefly:{% endif %}"),
    ];

    private static TemplateContext Context(TemplateOptions options)
    {
        var context = new TemplateContext(options);
        context.SetValue("persona", "a support agent");
        context.SetValue("language", "French");
        context.SetValue("max_words", 80);
        context.SetValue("customer", "Ada");
        context.SetValue("question", "Where is my order?");
        return context;
    }

    [Benchmark(Baseline = true)]
    public string[] FluidRender()
    {
        var context = Context(_options);
        return [_templates[0].Render(context), _templates[1].Render(context), _templates[2].Render(context)];
    }

    [Benchmark]
    public string[] WithLimits()
    {
        var context = Context(_limited);
        return [_templates[0].Render(context), _templates[1].Render(context), _templates[2].Render(context)];
    }

    [Benchmark]
    public string[] WithStringWriter()
    {
        var context = Context(_options);
        var result = new string[3];
        using var writer = new StringWriter(new StringBuilder(256));
        for (var i = 0; i < 3; i++)
        {
            writer.GetStringBuilder().Clear();
            var pending = _templates[i].RenderAsync(writer, NullEncoder.Default, context);
            pending.AsTask().GetAwaiter().GetResult();
            result[i] = writer.ToString();
        }

        return result;
    }
}
