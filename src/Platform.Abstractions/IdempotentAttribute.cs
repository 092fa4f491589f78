namespace Platform;

/// <summary>
/// Marks a grain method that has the same effect called twice as once (a read, or a write such as adding to a set).
/// When the silo hosting the grain is lost mid-call, the caller's silo retries such a method once, after the grain
/// can reactivate elsewhere, instead of failing the request. Methods marked <c>[Orleans.Concurrency.ReadOnly]</c>
/// are retried the same way; every other method is never retried (its first attempt may have taken effect).
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class IdempotentAttribute : Attribute;
