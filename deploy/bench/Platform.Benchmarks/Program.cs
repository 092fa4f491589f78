using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Platform.Benchmarks.PromptRenderBenchmark).Assembly).Run(args);
