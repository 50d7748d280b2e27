using System.Net;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.Trust;
using Workspaces.Testing;

namespace Workspaces.Tests.Unit;

/// <summary>The pieces of spanning networks (issue #17) that need no namespace: keys, tunnel addresses, address slices, parsers.</summary>
public sealed class SpanPartsTests
{
    [Fact]
    public async Task The_wireguard_key_is_made_once_private_to_root_and_its_public_half_is_what_wg_computes()
    {
        Prerequisites.Require("wg");
        string dir = Directory.CreateTempSubdirectory("wgkey").FullName;
        try
        {
            var made = new WireGuardKey(dir);
            string file = Path.Combine(dir, "keys", "wireguard.key");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            var pub = await Processes.RunAsync("sh", ["-c", "wg pubkey < \"$0\"", file]);
            Assert.Equal(pub.Stdout.Trim(), made.PublicKey); // wg itself, not this code, says what the public key is
            Assert.True(WireGuardKey.IsValidPublicKey(made.PublicKey));
            var again = new WireGuardKey(dir);
            Assert.Equal((made.PrivateKey, made.PublicKey), (again.PrivateKey, again.PublicKey)); // loaded, not made anew
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64 at all, but 44 characters long!!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==")] // 31 bytes
    public void A_peers_wireguard_key_must_be_32_bytes_of_base64(string? text) => Assert.False(WireGuardKey.IsValidPublicKey(text));

    [Fact]
    public void Tunnel_addresses_are_in_the_tunnel_prefix_and_neither_its_network_nor_broadcast_address()
    {
        var prefix = IPNetwork.Parse(TunnelAddress.Prefix);
        for (int i = 0; i < 2000; i++)
        {
            string key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            var address = TunnelAddress.Of(key);
            Assert.True(prefix.Contains(address), address.ToString());
            Assert.NotEqual("100.64.0.0", address.ToString());
            Assert.NotEqual("100.64.255.255", address.ToString());
            Assert.Equal(address, TunnelAddress.Of(key)); // every host derives the same one
        }
    }

    [Fact]
    public void Member_hosts_get_disjoint_slices_that_cover_no_gateway_and_no_broadcast()
    {
        var subnet = Subnet.Parse("10.64.7.0/24");
        IPAddress[] members = [IPAddress.Parse("100.64.9.1"), IPAddress.Parse("100.64.0.7"), IPAddress.Parse("100.64.200.3")];
        var slices = members.Select(m => NetworkService.Slice(subnet, m, members.Where(o => !o.Equals(m)).ToList())).ToList();
        // Ranked by tunnel address: 100.64.0.7 first, 100.64.9.1 second, 100.64.200.3 third; 253 hosts / 3 = 84 each.
        Assert.Equal([(86L, 169L), (2L, 85L), (170L, 253L)], slices);
        var used = new List<string>();
        foreach (var (from, to) in slices)
        {
            var first = subnet.FirstFree(used, from, to)!;
            used.Add(first.ToString());
        }
        Assert.Equal(["10.64.7.86", "10.64.7.2", "10.64.7.170"], used);
        Assert.Null(subnet.FirstFree(Enumerable.Range(2, 84).Select(o => $"10.64.7.{o}"), 2, 85)); // a full slice is full
    }

    [Fact]
    public void Flood_targets_are_read_from_the_all_zero_entries_of_bridge_fdb_show()
    {
        const string shown = """
            00:00:00:00:00:00 dst 100.64.3.4 self permanent
            52:54:00:12:34:56 dst 100.64.3.4 self
            00:00:00:00:00:00 dst 100.64.77.1 self permanent
            33:33:00:00:00:01 self permanent
            """;
        Assert.Equal(["100.64.3.4", "100.64.77.1"], SpanLinks.FloodTargets(shown));
        Assert.Equal(["AAA=", "BBB="], WireGuardTunnel.ParsePeers("AAA=\nBBB=\n"));
        Assert.Equal(1370, SpanPath.Mtu);
        Assert.Equal("wsvx-16777215", SpanPath.VxlanDevice(SpanPath.MaxVni));
        Assert.True(SpanPath.VxlanDevice(SpanPath.MaxVni).Length <= 15); // Linux's limit on interface names
    }
}
