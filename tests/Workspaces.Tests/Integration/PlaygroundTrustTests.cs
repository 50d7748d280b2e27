using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Members of a playground that live on a peer (issue #17), two daemons in network namespaces, real
/// test guests under TCG: the peer that lacks the role's image pulls it by fingerprint before its member
/// is made, and a pull that fails refuses the apply naming the image, leaving nothing on either host;
/// the peer's member gets its data disk; the peer records the member as the applying host's and lists
/// it so; the identity document carries the peer member's entry signed by the peer with the MAC and
/// address the peer gave it, verifies on both hosts, and a tampered or missing entry is refused.
/// </summary>
public sealed class PlaygroundTrustTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Document = """
        name: lab
        network:
          subnet: 10.81.0.0/24
        placement:
          spread: true
        roles:
          node:
            image: guest
            count: 2
            memory: 96
            disks: [{size: 16M}]
        """;

    private static Dictionary<string, object> Policy => new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 1024, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task A_peer_member_is_pulled_for_given_its_disk_recorded_by_its_host_and_signed_by_it()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        await using var hosts = await PeerHosts.StartAsync(2, Policy);
        var (one, two) = (hosts[0], hosts[1]);
        await PeerHosts.JoinAsync(one, two);
        var image = await GuestImages.ImportAsync(one.Client); // host2 has no image at all

        var plan = await one.Client.ApplyPlaygroundAsync(Document, yes: false);
        Assert.Contains(plan.Steps, s => s.Action == "pull" && s.Target == "image guest" && s.Host == "host2");
        Assert.Empty(await two.Client.ListImagesAsync()); // a plan fetches nothing

        Assert.True((await one.Client.ApplyPlaygroundAsync(Document, yes: true)).Applied);
        var shown = await one.Client.GetPlaygroundAsync("lab");
        var remote = Assert.Single(shown.Members, m => m.Host == "host2");
        var local = Assert.Single(shown.Members, m => m.Host == "this host");
        // host2 pulled the image by fingerprint and made its member from exactly that image.
        Assert.Equal(image.Id, (await two.Client.GetImageAsync(image.Id)).Id);
        Assert.Equal(image.Id, (await two.Client.GetWorkspaceAsync(remote.Name)).Image);

        // The peer's member has the role's data disk, made by its host and seen by its guest as its second disk.
        var disk = Assert.Single(await two.Client.ListDisksAsync(remote.Name));
        Assert.Equal(("data1", 16L << 20, true), (disk.Name, disk.SizeBytes, disk.Attached));
        await two.Daemon.WaitForConsoleAsync(remote.Name, "WORKSPACE-COMMANDS");
        Assert.Equal("32768", (await GuestShell.RunAsync(two.Daemon, remote.Name, "cat /sys/block/vdb/size")).Trim()); // 512-byte sectors

        // host2's own record: the playground is host1's, and host2 runs this member of it.
        var held = Assert.Single(await two.Client.ListPlaygroundsAsync());
        Assert.Equal(("lab", "host1"), (held.Name, held.AppliedBy));
        Assert.Equal([(remote.Name, remote.Role, remote.Index, "this host")], held.Members.Select(m => (m.Name, m.Role, m.Index, m.Host)));
        Assert.Equal("host1", (await two.Client.GetPlaygroundAsync("lab")).AppliedBy);
        var listed = await two.Daemon.WsAsync("playground", "show", "lab");
        Assert.Contains("applied by host host1", listed.Stdout);
        var elsewhere = await Assert.ThrowsAsync<ApiException>(() => two.Client.ActOnPlaygroundAsync("lab", "stop"));
        Assert.Equal(409, elsewhere.Status);
        Assert.Contains("was applied by host host1", elsewhere.Problem.Detail);

        // The document every member holds names the peer's member by the MAC and address its guest has, signed by host2's key.
        var (mac, address) = await NicAsync(two.Daemon, remote.Name);
        string document = (await GuestShell.RunAsync(two.Daemon, remote.Name, "cat /etc/playground.json")).Replace("\r", "").TrimEnd('\n');
        await one.Daemon.WaitForConsoleAsync(local.Name, "WORKSPACE-COMMANDS");
        Assert.Equal(document, (await GuestShell.RunAsync(one.Daemon, local.Name, "cat /etc/playground.json")).Replace("\r", "").TrimEnd('\n'));
        string twoKey = (await one.Client.ListPeersAsync()).Single(p => p.Name == "host2").SigningKey!;
        string oneKey = (await two.Client.ListPeersAsync()).Single(p => p.Name == "host1").SigningKey!;
        Assert.NotEqual(oneKey, twoKey);
        output.WriteLine($"{remote.Name} on host2: {mac} {address}; host2's key {twoKey}; the document: {document}");
        // Keys as the canonical JSON spells them (System.Text.Json escapes '+').
        string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);
        Assert.Contains($"{{\"address\":\"{address}\",\"host\":\"host2\",\"host_key\":{Json(twoKey)},\"index\":{remote.Index},\"mac\":\"{mac}\",\"name\":\"{remote.Name}\"", document);
        Assert.Contains($"\"host\":\"host1\",\"host_key\":{Json(oneKey)},\"index\":{local.Index}", document);
        foreach (var verifier in new[] { one, two }) // each pins the other: both accept it
        {
            var check = await verifier.Client.VerifyPlaygroundIdentityAsync(document);
            Assert.True(check.Valid, $"{verifier.Name}: {string.Join("; ", check.Problems)}");
            Assert.Equal("host1", check.AppliedBy);
            Assert.Equal(shown.Members.Select(m => m.Name).Order(StringComparer.Ordinal), check.Members!);
        }

        // The peer member's address changed by one digit: refused, naming that member and its host, not the other.
        string changed = address[..^1] + (address[^1] == '9' ? '8' : (char)(address[^1] + 1));
        string tampered = document.Replace($"\"address\":\"{address}\",\"host\":\"host2\"", $"\"address\":\"{changed}\",\"host\":\"host2\"");
        Assert.NotEqual(document, tampered);
        var bad = await one.Client.VerifyPlaygroundIdentityAsync(tampered);
        Assert.False(bad.Valid);
        Assert.Contains(bad.Problems, p => p.StartsWith($"member {remote.Name} (host host2): the signature does not match", StringComparison.Ordinal));
        Assert.DoesNotContain(bad.Problems, p => p.StartsWith($"member {local.Name} ", StringComparison.Ordinal));

        // host2's admin removes its member (allowed: it is host2's workspace). host2 then signs nothing for it, and
        // host1 refuses to issue a document without that entry, naming the member and its host.
        await two.Client.DeleteWorkspaceAsync(remote.Name, force: true);
        Assert.Empty(await two.Client.ListPlaygroundsAsync()); // the record went with the workspace
        var unsigned = await Assert.ThrowsAsync<ApiException>(() => one.Client.GetPlaygroundIdentityAsync("lab"));
        Assert.Equal(502, unsigned.Status);
        Assert.Contains($"member {remote.Name} of playground lab on host host2: its host signed no entry for it", unsigned.Problem.Detail);
        Assert.Equal("Lost", (await one.Client.GetPlaygroundAsync("lab")).Members.Single(m => m.Name == remote.Name).State);

        await one.Client.DeletePlaygroundAsync("lab");
        Assert.Empty(await one.Client.ListWorkspacesAsync());
        Assert.Empty(await two.Client.ListWorkspacesAsync());
        Assert.DoesNotContain(await two.Client.ListNetworksAsync(), n => n.Name == "lab");
    }

    [Fact]
    public async Task A_pull_that_fails_on_the_peer_refuses_the_apply_naming_the_image_and_leaves_nothing()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        await using var hosts = await PeerHosts.StartAsync(2, Policy);
        var (one, two) = (hosts[0], hosts[1]);
        // host1 serves every piece with a byte flipped: host2's pull of the image from it fails its hash check.
        one.Daemon.Environment["WORKSPACES_FAULT_CORRUPT_PIECES"] = "1";
        await one.Daemon.KillAsync();
        await one.Daemon.StartAsync();
        await PeerHosts.JoinAsync(one, two);
        var image = await GuestImages.ImportAsync(one.Client);

        var refused = await Assert.ThrowsAsync<ApiException>(() => one.Client.ApplyPlaygroundAsync(Document, yes: true));
        output.WriteLine(refused.Problem.Detail);
        Assert.Equal(400, refused.Status);
        Assert.Contains($"roles.node.image: image 'guest' ({image.Id}) could not be pulled by host2, where member", refused.Problem.Detail);
        Assert.Contains("nothing was created", refused.Problem.Detail);
        foreach (var host in new[] { one, two })
        {
            Assert.Empty(await host.Client.ListWorkspacesAsync());
            Assert.Empty(await host.Client.ListPlaygroundsAsync());
            Assert.DoesNotContain(await host.Client.ListNetworksAsync(), n => n.Name == "lab");
        }
        Assert.Empty(await two.Client.ListImagesAsync());
    }

    [Fact]
    public async Task The_applying_host_that_lacks_the_image_pulls_it_from_the_peer_for_its_own_member()
    {
        Prerequisites.RequireRoot();
        Prerequisites.Require("wireguard-go", "wg");
        await using var hosts = await PeerHosts.StartAsync(2, Policy);
        var (one, two) = (hosts[0], hosts[1]);
        await PeerHosts.JoinAsync(one, two);
        var image = await GuestImages.ImportAsync(two.Client); // only the peer has it

        var plan = await one.Client.ApplyPlaygroundAsync(Document, yes: false);
        Assert.Contains(plan.Steps, s => s.Action == "pull" && s.Target == "image guest" && s.Host == "this host");
        Assert.Empty(await one.Client.ListImagesAsync());
        Assert.True((await one.Client.ApplyPlaygroundAsync(Document, yes: true)).Applied);
        var local = Assert.Single((await one.Client.GetPlaygroundAsync("lab")).Members, m => m.Host == "this host");
        Assert.Equal(image.Id, (await one.Client.GetWorkspaceAsync(local.Name)).Image);
        Assert.Equal(WorkspaceStates.Running, local.State);
        await one.Client.DeletePlaygroundAsync("lab");
        Assert.Empty(await one.Client.ListWorkspacesAsync());
        Assert.Empty(await two.Client.ListWorkspacesAsync());
    }

    /// <summary>The MAC and IPv4 address the guest's eth0 has, once it has one.</summary>
    private static async Task<(string Mac, string Address)> NicAsync(DaemonProcess daemon, string member)
    {
        string address;
        for (int i = 0; (address = (await GuestShell.RunAsync(daemon, member, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).Trim()) == ""; i++)
        {
            if (i == 60) throw new TimeoutException($"{member} got no address");
            await Task.Delay(500);
        }
        return ((await GuestShell.RunAsync(daemon, member, "cat /sys/class/net/eth0/address")).Trim(), address);
    }
}
