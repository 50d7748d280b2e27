using Workspaces.Daemon.Network;

namespace Workspaces.Tests.Unit;

/// <summary>The span's MTU from the underlay's, and the underlay's from `ip -o route get`.</summary>
public sealed class SpanMtuTests
{
    [Theory]
    [InlineData(1500, 1420, 1370)]
    [InlineData(9000, 8920, 8870)]
    [InlineData(65535, 65455, 65405)]
    [InlineData(70000, 65455, 65405)] // nothing carries more than an IPv4 packet's 64 KiB
    public void WireGuard_takes_80_off_the_underlay_and_vxlan_50_more(int underlay, int wireGuard, int span)
    {
        Assert.Equal(wireGuard, SpanPath.WireGuardMtu(underlay));
        Assert.Equal(span, SpanPath.SpanMtu(underlay));
    }

    [Theory]
    [InlineData("10.99.3.2 dev eth1 src 10.99.3.1 uid 0 \\    cache ", "eth1", null)]
    [InlineData("10.1.0.9 via 10.0.0.1 dev ens3 src 10.0.0.5 uid 0 \\    cache mtu 1400 ", "ens3", 1400)]
    [InlineData("10.1.0.9 via 10.0.0.1 dev ens3 src 10.0.0.5 uid 0 \\    cache mtu lock 1280 ", "ens3", 1280)]
    [InlineData("local 10.0.0.5 dev lo table local src 10.0.0.5 uid 0 \\    cache <local> ", "lo", null)]
    [InlineData("10.0.0.9 dev ../../etc src 10.0.0.5", null, null)] // never a path out of /sys/class/net
    [InlineData("", null, null)]
    public void A_routes_device_and_own_mtu_are_read(string line, string? device, int? mtu)
    {
        Assert.Equal((device, mtu), UnderlayPaths.ParseRoute(line));
    }

    [Theory]
    [InlineData(2, 127, 1, new long[] { 2, 64, 65, 127 })]       // 126 addresses: this host keeps 63, the new host gets 63
    [InlineData(2, 127, 2, new long[] { 2, 43, 44, 85, 86, 127 })] // three ways: 42 each
    [InlineData(2, 11, 3, new long[] { 2, 5, 6, 7, 8, 9, 10, 11 })] // 10 among 4: 2 each, and this host keeps the 2 that do not divide too
    public void A_growing_host_cedes_the_upper_parts_of_its_share_disjoint_and_covering_it(long from, long to, int joining, long[] expected)
    {
        var parts = NetworkService.Cede((from, to), joining);
        Assert.Equal(expected, parts.SelectMany(p => new[] { p.From, p.To }));
    }

    [Fact]
    public void A_share_too_small_to_cede_is_refused()
    {
        var e = Assert.Throws<Workspaces.Daemon.Errors.WorkspacesException>(() => NetworkService.Cede((10, 11), 2));
        Assert.Equal(409, e.Status);
    }
}
