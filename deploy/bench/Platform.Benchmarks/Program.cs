using BenchmarkDotNet.Running;
using Platform.Benchmarks;

if (args.Length > 0 && args[0] == "ingest")
{
    await IngestionBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5);
    return;
}

if (args.Length > 0 && args[0] == "reqlog")
{
    await RequestLogBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

if (args.Length > 0 && args[0] == "audit")
{
    await AuditAppendBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000);
    return;
}

if (args.Length > 0 && args[0] == "budget")
{
    await ReservationBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(PromptRenderBenchmark).Assembly).Run(args);
