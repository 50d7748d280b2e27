using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// ws playground export and applying an export, with real test guests under TCG: on the same host an
/// export recreates the playground after rm; where its image is unknown and no peer has it, it is
/// refused naming the image and nothing is made; at another site (a peer) the pinned image is pulled by
/// hash and the members are made from it, and that site's identity document verifies on the first; an
/// image no peer has is refused naming it.
/// </summary>
public sealed class PlaygroundExportTests
{
    private const string Document = """
        name: lab
        network:
          subnet: 10.79.0.0/24
        roles:
          node:
            image: guest
            count: 2
            memory: 96
        """;

    private static readonly Dictionary<string, object> Config = new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 1024, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task An_export_recreates_the_playground_after_rm_and_is_refused_naming_the_image_where_it_is_unknown()
    {
        await using var ns = await NetNamespace.CreateAsync("pgex");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        var client = daemon.Client;
        var image = await GuestImages.ImportAsync(client);
        Assert.True((await client.ApplyPlaygroundAsync(Document, yes: true)).Applied);
        var before = (await client.ListWorkspacesAsync()).ToDictionary(w => w.Name, w => w.Id);

        string file = Path.Combine(daemon.Dir, "lab.export.yaml");
        var exported = await daemon.WsAsync("playground", "export", "lab", file);
        Assert.True(exported.ExitCode == 0, exported.Stderr);
        string text = await File.ReadAllTextAsync(file);
        Assert.Contains($"fingerprint: {image.Id}", text);
        // Applied where it stands, the export changes nothing: it is the same playground.
        Assert.True((await client.ApplyPlaygroundAsync(text, yes: true)).Unchanged);

        Assert.Equal(0, (await daemon.WsAsync("playground", "rm", "lab")).ExitCode);
        Assert.Empty(await client.ListWorkspacesAsync());
        var applied = await daemon.WsAsync("playground", "apply", file, "--yes");
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        var after = await client.ListWorkspacesAsync();
        Assert.Equal(["lab-node-1", "lab-node-2"], after.Select(w => w.Name).Order());
        Assert.All(after, w => Assert.DoesNotContain(w.Id, before.Values)); // made anew
        foreach (var m in after)
        {
            Assert.Equal(image.Id, (await client.GetWorkspaceAsync(m.Name)).Image);
            await daemon.WaitForConsoleAsync(m.Name, "WORKSPACE-COMMANDS");
        }
        var shown = await client.GetPlaygroundAsync("lab");
        Assert.All(shown.Members, m => Assert.Equal(WorkspaceStates.Running, m.State));

        // The image gone and no peer to ask: refused naming the image and its fingerprint, nothing made.
        await client.DeletePlaygroundAsync("lab");
        await client.DeleteImageAsync(image.Id);
        var refused = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(text, yes: true));
        Assert.Equal(400, refused.Status);
        Assert.Contains($"roles.node.fingerprint: no image with fingerprint {image.Id} (exported as 'guest') on this host", refused.Problem.Detail);
        Assert.Empty(await client.ListWorkspacesAsync());
        Assert.Empty(await client.ListPlaygroundsAsync());
        Assert.DoesNotContain(await client.ListNetworksAsync(), n => n.Name == "lab");
    }

    [Fact]
    public async Task At_another_site_the_pinned_image_is_pulled_from_a_peer_by_hash_and_its_identity_verifies_on_the_first()
    {
        await using var hosts = await PeerHosts.StartAsync(2, Config);
        var (first, second) = (hosts[0], hosts[1]);
        await hosts.JoinAllAsync();
        var image = await GuestImages.ImportAsync(first.Client);
        Assert.True((await first.Client.ApplyPlaygroundAsync(Document, yes: true)).Applied);
        string text = await first.Client.ExportPlaygroundAsync("lab");

        var plan = await second.Client.ApplyPlaygroundAsync(text, yes: false);
        Assert.Contains(plan.Steps, s => s.Action == "pull" && s.Target == "image guest");
        Assert.Empty(await second.Client.ListImagesAsync()); // a plan fetches nothing

        Assert.True((await second.Client.ApplyPlaygroundAsync(text, yes: true)).Applied);
        Assert.Equal(image.Id, (await second.Client.GetImageAsync(image.Id)).Id);
        foreach (var m in new[] { "lab-node-1", "lab-node-2" })
        {
            Assert.Equal(image.Id, (await second.Client.GetWorkspaceAsync(m)).Image);
            await second.Daemon.WaitForConsoleAsync(m, "WORKSPACE-COMMANDS");
        }
        // The second site's document is signed by the second host: the first, which pins it as a peer, verifies it.
        string held = (await GuestShell.RunAsync(second.Daemon, "lab-node-1", "cat /etc/playground.json")).Replace("\r", "").TrimEnd('\n');
        var check = await first.Client.VerifyPlaygroundIdentityAsync(held);
        Assert.True(check.Valid, string.Join("; ", check.Problems));
        Assert.Equal(second.Name, check.AppliedBy);

        // Pinned to an image no peer has: the pull fails, the apply is refused naming the image, and nothing is made.
        string unknown = new('e', 64);
        string other = text.Replace("name: lab", "name: lab2").Replace("10.79.0.0/24", "10.80.0.0/24").Replace(image.Id, unknown);
        var refused = await Assert.ThrowsAsync<ApiException>(() => second.Client.ApplyPlaygroundAsync(other, yes: true));
        Assert.Equal(400, refused.Status);
        Assert.Contains($"roles.node.fingerprint: image 'guest' ({unknown}) is not on this host and could not be pulled from peers", refused.Problem.Detail);
        Assert.Equal(["lab-node-1", "lab-node-2"], (await second.Client.ListWorkspacesAsync()).Select(w => w.Name).Order());
        Assert.Equal(["lab"], (await second.Client.ListPlaygroundsAsync()).Select(p => p.Name));
        Assert.DoesNotContain(await second.Client.ListNetworksAsync(), n => n.Name == "lab2");
    }
}
