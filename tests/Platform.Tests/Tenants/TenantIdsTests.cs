using Platform.Tenants;

namespace Platform.Tests.Tenants;

public sealed class TenantIdsTests
{
    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme-2", true)]
    [InlineData("a1", true)]
    [InlineData("a", false)]
    [InlineData("Acme", false)]
    [InlineData("1acme", false)]
    [InlineData("acme-", false)]
    [InlineData("ac me", false)]
    [InlineData("acme/other", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValid_AcceptsOnlySlugs(string? id, bool expected) => Assert.Equal(expected, TenantIds.IsValid(id));

    [Fact]
    public void IsValid_RejectsIdsLongerThan63() => Assert.False(TenantIds.IsValid("a" + new string('b', 63)));
}
