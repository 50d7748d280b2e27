using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Playgrounds on one host with real test guests under TCG, the daemon in its own network namespace:
/// members reach each other by name, apply is idempotent, a count change adds or removes a member and
/// the others learn of it, save and restore keep every member where it was, and bad documents or a
/// playground too big for the host leave nothing behind.
/// </summary>
public sealed class PlaygroundTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Document(int count, string subnet = "10.77.0.0/24") => $"""
        name: lab
        network:
          subnet: {subnet}
        roles:
          node:
            image: guest
            count: {count}
            memory: 96
        """;

    private static readonly Dictionary<string, object> Config = new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 1024, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task Members_reach_each_other_by_name_apply_is_idempotent_and_a_count_change_adds_or_removes_one()
    {
        await using var ns = await NetNamespace.CreateAsync("pg");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);

        var plan = await client.ApplyPlaygroundAsync(Document(2), yes: false);
        Assert.False(plan.Applied);
        Assert.Equal(["create network lab", "create lab-node-1", "create lab-node-2"], plan.Steps.Select(s => $"{s.Action} {s.Target}"));
        Assert.Empty(await client.ListPlaygroundsAsync()); // a plan makes nothing
        Assert.DoesNotContain(await client.ListNetworksAsync(), n => n.Name == "lab");

        Assert.True((await client.ApplyPlaygroundAsync(Document(2), yes: true)).Applied);
        await WaitCommandsAsync(daemon, "lab-node-1", "lab-node-2");
        await GuestShell.RunAsync(daemon, "lab-node-1", "ping -c 2 -W 3 lab-node-2");
        await GuestShell.RunAsync(daemon, "lab-node-2", "ping -c 2 -W 3 lab-node-1");
        Assert.Contains("ROLE=node\nINDEX=2", await GuestShell.RunAsync(daemon, "lab-node-2", "cat /etc/playground"));
        // One shared SSH key pair: the same in both, private to root, and a key OpenSSH itself reads back to its public half.
        string publicKey = (await GuestShell.RunAsync(daemon, "lab-node-1", "cat /root/.ssh/authorized_keys")).Trim();
        Assert.StartsWith("ssh-ed25519 ", publicKey);
        Assert.Equal(publicKey, (await GuestShell.RunAsync(daemon, "lab-node-2", "cat /root/.ssh/id_ed25519.pub")).Trim());
        Assert.Equal("600", (await GuestShell.RunAsync(daemon, "lab-node-2", "stat -c %a /root/.ssh/id_ed25519")).Trim());
        string keyFile = Path.Combine(daemon.Dir, "id_ed25519");
        await File.WriteAllTextAsync(keyFile, (await GuestShell.RunAsync(daemon, "lab-node-2", "cat /root/.ssh/id_ed25519")).Replace("\r", ""));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var derived = await Processes.RunAsync("ssh-keygen", ["-y", "-f", keyFile]);
        Assert.True(derived.ExitCode == 0, derived.Stderr);
        Assert.Equal(string.Join(' ', publicKey.Split(' ')[..2]), string.Join(' ', derived.Stdout.Trim().Split(' ')[..2]));
        var ids = (await client.ListWorkspacesAsync()).ToDictionary(w => w.Name, w => w.Id);

        // The same document again: nothing to do, and nothing done.
        var again = await client.ApplyPlaygroundAsync(Document(2), yes: true);
        Assert.True(again.Unchanged);
        Assert.All(again.Steps, s => Assert.Equal("keep", s.Action));
        Assert.Equal(ids, (await client.ListWorkspacesAsync()).ToDictionary(w => w.Name, w => w.Id));

        // 2 -> 3: one member made; the others learn its name.
        var grow = await client.ApplyPlaygroundAsync(Document(3), yes: true);
        Assert.Equal(["create lab-node-3"], grow.Steps.Where(s => s.Action != "keep").Select(s => $"{s.Action} {s.Target}"));
        await WaitCommandsAsync(daemon, "lab-node-3");
        await GuestShell.RunAsync(daemon, "lab-node-1", "ping -c 2 -W 3 lab-node-3");
        await GuestShell.RunAsync(daemon, "lab-node-3", "ping -c 2 -W 3 lab-node-2");
        var shown = await client.GetPlaygroundAsync("lab");
        Assert.Equal(["lab-node-1", "lab-node-2", "lab-node-3"], shown.Members.Select(m => m.Name));
        Assert.All(shown.Members, m => Assert.Equal(WorkspaceStates.Running, m.State));
        Assert.Equal(3, shown.Members.Select(m => m.Address).Distinct().Count());

        // 3 -> 2: the last one goes, cleanly; the others forget it.
        var shrink = await client.ApplyPlaygroundAsync(Document(2), yes: true);
        Assert.Equal(["remove lab-node-3"], shrink.Steps.Where(s => s.Action != "keep").Select(s => $"{s.Action} {s.Target}"));
        Assert.Equal(["lab-node-1", "lab-node-2"], (await client.ListWorkspacesAsync()).Select(w => w.Name).Order());
        Assert.DoesNotContain("lab-node-3", await GuestShell.RunAsync(daemon, "lab-node-1", "cat /etc/hosts"));

        // A member removed behind the playground's back leaves it; the next apply makes it again, and it is known by name.
        await client.DeleteWorkspaceAsync("lab-node-2", force: true);
        Assert.Equal(["lab-node-1"], (await client.GetPlaygroundAsync("lab")).Members.Select(m => m.Name));
        Assert.Equal(["create lab-node-2"], (await client.ApplyPlaygroundAsync(Document(2), yes: true)).Steps.Where(s => s.Action != "keep").Select(s => $"{s.Action} {s.Target}"));
        await WaitCommandsAsync(daemon, "lab-node-2");
        await GuestShell.RunAsync(daemon, "lab-node-2", "ping -c 2 -W 3 lab-node-1");

        await client.DeletePlaygroundAsync("lab");
        Assert.Empty(await client.ListWorkspacesAsync());
        Assert.DoesNotContain(await client.ListNetworksAsync(), n => n.Name == "lab");
        output.WriteLine(daemon.Log.Length > 0 ? "daemon log kept" : "");
    }

    [Fact]
    public async Task Save_then_restore_keeps_a_counter_counting_in_every_member()
    {
        await using var ns = await NetNamespace.CreateAsync("pg");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.ApplyPlaygroundAsync(Document(2), yes: true);
        string[] members = ["lab-node-1", "lab-node-2"];
        await WaitCommandsAsync(daemon, members);
        // A counter in RAM (tmpfs): only a restored RAM carries it on.
        foreach (var m in members)
            await GuestShell.RunAsync(daemon, m, "(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) >/dev/null 2>&1 &");
        await WaitCountAsync(daemon, members, atLeast: 3);

        var saved = await client.ActOnPlaygroundAsync("lab", "save");
        Assert.All(saved.Members, m => Assert.Equal(WorkspaceStates.Saved, m.State));
        Assert.Empty(daemon.QemuPids());
        var restored = await client.ActOnPlaygroundAsync("lab", "restore");
        Assert.All(restored.Members, m => Assert.Equal(WorkspaceStates.Running, m.State));

        // Each continues from where it was (at least 3), not from 1; and they still reach each other.
        var before = new Dictionary<string, int>();
        foreach (var m in members) before[m] = int.Parse((await GuestShell.RunAsync(daemon, m, "cat /tmp/count")).Trim());
        Assert.All(before.Values, v => Assert.True(v >= 3, $"counter restarted: {v}"));
        await WaitCountAsync(daemon, members, atLeast: before.Values.Max() + 2);
        await GuestShell.RunAsync(daemon, "lab-node-1", "ping -c 2 -W 3 lab-node-2");
    }

    [Fact]
    public async Task Bad_documents_and_a_playground_too_big_for_the_host_are_refused_and_leave_nothing()
    {
        await using var ns = await NetNamespace.CreateAsync("pg");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateNetworkAsync(new CreateNetworkRequest("other", "10.77.0.0/16"));

        var overlap = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(2), yes: true));
        Assert.Equal((400, "line 3, network.subnet: 10.77.0.0/24 overlaps network 'other' (10.77.0.0/16)"), (overlap.Status, overlap.Problem.Detail));
        var unknown = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(2, "10.78.0.0/24").Replace("image: guest", "image: nosuch"), yes: true));
        Assert.Equal((400, "line 6, roles.node.image: no image or template named 'nosuch' on this host"), (unknown.Status, unknown.Problem.Detail));
        var negative = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(-2, "10.78.0.0/24"), yes: true));
        Assert.Equal((400, "line 7, roles.node.count: -2 is out of range (0 to 64)"), (negative.Status, negative.Problem.Detail));
        var key = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(2, "10.78.0.0/24") + "\n    colour: red", yes: true));
        Assert.StartsWith("line 9, roles.node.colour: unknown key 'colour'", key.Problem.Detail);
        var on = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(2, "10.78.0.0/24") + "\nplacement:\n  on: [nosuch]", yes: true));
        Assert.StartsWith("line 10, placement.on: no peer named 'nosuch'", on.Problem.Detail);

        // 11 members of 96 MiB need 1056 MiB; the host has 1024: none is made, not ten.
        var big = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(11, "10.78.0.0/24"), yes: true));
        Assert.Equal(409, big.Status);
        Assert.Contains("need 11 vCPUs and 1056 MiB", big.Problem.Detail);

        Assert.Empty(await client.ListPlaygroundsAsync());
        Assert.Empty(await client.ListWorkspacesAsync());
        Assert.Equal(["other"], (await client.ListNetworksAsync()).Select(n => n.Name));

        // The CLI names the line and field too, and exits non-zero.
        string file = Path.Combine(daemon.Dir, "bad.yaml");
        await File.WriteAllTextAsync(file, Document(-2, "10.78.0.0/24"));
        var cli = await daemon.WsAsync("playground", "apply", file, "--yes");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("line 7, roles.node.count: -2 is out of range", cli.Stderr);

        // A failure half way (the second member's name is taken) undoes the first member, the network and the record.
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("lab-node-2", "guest"));
        var taken = await Assert.ThrowsAsync<ApiException>(() => client.ApplyPlaygroundAsync(Document(2, "10.78.0.0/24"), yes: true));
        Assert.Equal(409, taken.Status);
        Assert.Empty(await client.ListPlaygroundsAsync());
        Assert.Equal(["lab-node-2"], (await client.ListWorkspacesAsync()).Select(w => w.Name));
        Assert.Equal(["other"], (await client.ListNetworksAsync()).Select(n => n.Name));
    }

    [Fact]
    public async Task The_cli_shows_the_plan_applies_it_with_yes_and_exports_the_document()
    {
        await using var ns = await NetNamespace.CreateAsync("pg");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        await GuestImages.ImportAsync(daemon.Client);
        string file = Path.Combine(daemon.Dir, "lab.yaml");
        await File.WriteAllTextAsync(file, Document(1) + "\n    disks: [{size: 16M}]");

        var plan = await daemon.WsAsync("playground", "apply", file);
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("create  lab-node-1", plan.Stdout);
        Assert.Contains("apply again with --yes", plan.Stdout);
        Assert.Empty(await daemon.Client.ListWorkspacesAsync());

        Assert.Contains("Playground lab applied.", (await daemon.WsAsync("playground", "apply", file, "--yes")).Stdout);
        Assert.Contains("nothing to change", (await daemon.WsAsync("playground", "apply", file, "--yes")).Stdout);
        // The role's data disk is attached to the member as its second virtio disk.
        var disk = Assert.Single(await daemon.Client.ListDisksAsync("lab-node-1"));
        Assert.Equal(("data1", 16L << 20, true), (disk.Name, disk.SizeBytes, disk.Attached));
        await daemon.WaitForConsoleAsync("lab-node-1", "WORKSPACE-COMMANDS");
        Assert.Equal("32768", (await GuestShell.RunAsync(daemon, "lab-node-1", "cat /sys/block/vdb/size")).Trim()); // 512-byte sectors
        var shown = await daemon.WsAsync("playground", "show", "lab");
        Assert.Contains("lab-node-1", shown.Stdout);
        Assert.Contains("Running", shown.Stdout);
        string exported = Path.Combine(daemon.Dir, "exported.yaml");
        Assert.Equal(0, (await daemon.WsAsync("playground", "export", "lab", exported)).ExitCode);
        // The export is the document with the role pinned to its image by fingerprint: applied here, it changes nothing.
        string exportedText = await File.ReadAllTextAsync(exported);
        Assert.Contains($"fingerprint: {(await daemon.Client.GetImageAsync("guest")).Id}", exportedText);
        Assert.Contains("size: 16M", exportedText);
        Assert.True((await daemon.Client.ApplyPlaygroundAsync(exportedText, yes: true)).Unchanged);
        Assert.Equal(0, (await daemon.WsAsync("playground", "rm", "lab")).ExitCode);
        Assert.Empty(await daemon.Client.ListWorkspacesAsync());
    }

    /// <summary>Until each member's command port answers and its network address is up (a TCG boot takes a while).</summary>
    private static async Task WaitCommandsAsync(DaemonProcess daemon, params string[] members)
    {
        foreach (var m in members)
        {
            await daemon.WaitForConsoleAsync(m, "WORKSPACE-COMMANDS");
            for (int i = 0; !(await GuestShell.RunAsync(daemon, m, "ip addr show eth0")).Contains("inet "); i++)
            {
                if (i == 60) throw new TimeoutException($"{m} got no address");
                await Task.Delay(500);
            }
        }
    }

    private static async Task WaitCountAsync(DaemonProcess daemon, string[] members, int atLeast)
    {
        foreach (var m in members)
            await Wait.UntilAsync(async () => int.TryParse((await GuestShell.RunAsync(daemon, m, "cat /tmp/count 2>/dev/null || echo 0")).Trim(), out int n) && n >= atLeast,
                TimeSpan.FromSeconds(60), $"{m}'s counter reaching {atLeast}");
    }
}
