using System.Net;
using System.Net.Sockets;

namespace Platform.Notifications;

/// <summary>Which addresses a tenant's webhook may not reach unless the operator allows private networks.</summary>
public static class NetworkAddresses
{
    /// <summary>
    /// Loopback, unspecified, private (RFC 1918), carrier-grade NAT, link-local (cloud metadata services live
    /// at 169.254.169.254), multicast and broadcast; IPv6 loopback, unique-local, site-local and link-local; and
    /// IPv4 addresses mapped into IPv6.
    /// </summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.None))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var first = address.GetAddressBytes()[0];
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast || first == 0;
        }

        var b = address.GetAddressBytes();
        return b[0] is 0 or 10 or 127 or >= 224
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }
}
