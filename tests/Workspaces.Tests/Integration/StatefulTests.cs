using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Stateful stop and start, and templates launched from RAM, on real TCG guests: one daemon (in its own
/// network namespace, with a NAT network) shared by the class. What the guest says through its shell port is
/// the evidence: the same process (same pid) still runs, its uptime went on, its files are there.
/// </summary>
public sealed class StatefulTests(StatefulTests.Host host, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<StatefulTests.Host>
{
    public sealed class Host : IAsyncLifetime
    {
        public NetNamespace Ns { get; private set; } = null!;
        public DaemonProcess Daemon { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Ns = await NetNamespace.CreateAsync("st");
            // Ten clones beside the other guests: more vCPUs than the default overcommit grants on two cores (they idle).
            Daemon = await DaemonProcess.StartAsync(new() { ["policy"] = new Dictionary<string, object> { ["cpuOvercommit"] = 10 } }, netns: Ns.Name);
            await GuestImages.ImportAsync(Daemon.Client);
        }

        public async Task DisposeAsync()
        {
            await Daemon.DisposeAsync();
            await Ns.DisposeAsync();
        }

        /// <summary>Created, started, booted to its command port, its address configured.</summary>
        public async Task LaunchAsync(string name, string image = "guest", int? memory = null)
        {
            await Daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, image, MemoryMiB: memory, Network: "default"));
            await Daemon.Client.ActAndWaitAsync(name, "start");
            await Daemon.WaitForConsoleAsync(name, "WORKSPACE-COMMANDS"); // after its static address (WORKSPACE-NET)
        }

        public Task<string> ShellAsync(string workspace, string command) => GuestShell.RunAsync(Daemon, workspace, command);
    }

    private DaemonProcess Daemon => host.Daemon;

    [Fact]
    public async Task Stateful_stop_then_start_continues_the_same_guest_where_it_was()
    {
        await host.LaunchAsync("keeper");
        string pid = (await host.ShellAsync("keeper", "sleep 100000 > /dev/null 2>&1 & echo $!")).Trim();
        await host.ShellAsync("keeper", "echo written-before > /mnt/before && echo in-ram > /tmp/ram && sync");
        double uptimeBefore = Uptime(await host.ShellAsync("keeper", "cat /proc/uptime"));
        string bootCount = (await host.ShellAsync("keeper", "cat /mnt/boot-count")).Trim();
        var before = await Daemon.Client.GetWorkspaceAsync("keeper");

        await Daemon.Client.ActAndWaitAsync("keeper", "stop", "stateful=true");
        var saved = await Daemon.Client.GetWorkspaceAsync("keeper");
        Assert.Equal(WorkspaceStates.Saved, saved.State);
        Assert.Null(saved.Pid);
        Assert.DoesNotContain(before.Pid!.Value, Daemon.QemuPids());
        Assert.True(File.Exists(Daemon.Layout.SavedState(saved.Id)));
        output.WriteLine($"{saved.Reason}; {new FileInfo(Daemon.Layout.SavedState(saved.Id)).Length} bytes");

        await Daemon.Client.ActAndWaitAsync("keeper", "start");
        var restored = await Daemon.Client.GetWorkspaceAsync("keeper");
        Assert.Equal(WorkspaceStates.Running, restored.State);
        Assert.Contains("restored", restored.Reason);
        Assert.False(File.Exists(Daemon.Layout.SavedState(saved.Id))); // removed once the guest runs
        // The same process, the same RAM, the same disk, no boot in between.
        Assert.Equal(pid, (await host.ShellAsync("keeper", $"kill -0 {pid} && echo {pid}")).Trim());
        Assert.Contains("sleep", await host.ShellAsync("keeper", $"cat /proc/{pid}/cmdline"));
        Assert.Equal("in-ram", (await host.ShellAsync("keeper", "cat /tmp/ram")).Trim());
        Assert.Equal("written-before", (await host.ShellAsync("keeper", "cat /mnt/before")).Trim());
        Assert.Equal(bootCount, (await host.ShellAsync("keeper", "cat /mnt/boot-count")).Trim());
        double uptimeAfter = Uptime(await host.ShellAsync("keeper", "cat /proc/uptime"));
        output.WriteLine($"uptime before {uptimeBefore:0.00} s, after {uptimeAfter:0.00} s");
        Assert.True(uptimeAfter > uptimeBefore, $"the guest's uptime went from {uptimeBefore} to {uptimeAfter}: it rebooted");
        // Its NIC: the same MAC, the same address (it was free), and the network still carries it.
        Assert.Equal((before.Nic!.Mac, before.Nic.Address), (restored.Nic!.Mac, restored.Nic.Address));
        await host.ShellAsync("keeper", "ping -c 1 -W 5 10.87.0.1");
    }

    [Fact]
    public async Task A_tampered_saved_state_is_refused_and_the_workspace_starts_afresh_only_when_asked()
    {
        await host.LaunchAsync("tampered");
        await Daemon.Client.ActAndWaitAsync("tampered", "stop", "stateful=true");
        var w = await Daemon.Client.GetWorkspaceAsync("tampered");
        string path = Daemon.Layout.SavedState(w.Id);
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            int b = file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(b ^ 0x01));
        }
        var refused = await Assert.ThrowsAsync<ApiException>(() => Daemon.Client.ActAndWaitAsync("tampered", "start"));
        output.WriteLine(refused.Message);
        Assert.Contains("does not match what was saved", refused.Message);
        Assert.Contains("--discard-state", refused.Message);
        w = await Daemon.Client.GetWorkspaceAsync("tampered");
        Assert.Equal(WorkspaceStates.Saved, w.State);
        Assert.True(File.Exists(path)); // kept: refusing is not discarding

        await Daemon.Client.ActAndWaitAsync("tampered", "start", "discardState=true");
        Assert.Contains("WORKSPACE-READY boot=2", await Daemon.WaitForConsoleAsync("tampered", "WORKSPACE-READY"));
        Assert.Equal(WorkspaceStates.Running, (await Daemon.Client.GetWorkspaceAsync("tampered")).State);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Ten_clones_of_a_template_run_at_once_each_with_its_own_mac_address_hostname_and_identity_and_it_travels_like_an_image()
    {
        await host.LaunchAsync("source", memory: 128);
        string pid = (await host.ShellAsync("source", "sleep 100000 > /dev/null 2>&1 & echo $!")).Trim();
        await host.ShellAsync("source", "echo warm > /mnt/job && sync");
        var template = await Daemon.Client.SnapshotAsync("source", new SnapshotRequest("warm"));
        Assert.Equal(128, template.State!.MemoryMiB);
        output.WriteLine($"template {template.Id[..12]}: {template.Size} bytes");
        // The source runs on after its snapshot.
        Assert.Equal(WorkspaceStates.Running, (await Daemon.Client.GetWorkspaceAsync("source")).State);
        await host.ShellAsync("source", $"kill -0 {pid}");

        var names = Enumerable.Range(1, 10).Select(i => $"clone{i}").ToArray();
        foreach (var name in names)
            await Daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "warm", Network: "default"));
        await Task.WhenAll(names.Select(name => Daemon.Client.ActAndWaitAsync(name, "start")));

        var seen = new List<(string Mac, string Address, string Host, string Id)>();
        foreach (var name in names)
        {
            var w = await Daemon.Client.GetWorkspaceAsync(name);
            Assert.Contains("from template", w.Reason);
            // Restored, not booted: the template's process is there, and its disk file.
            await host.ShellAsync(name, $"kill -0 {pid}");
            Assert.Equal("warm", (await host.ShellAsync(name, "cat /mnt/job")).Trim());
            string mac = (await host.ShellAsync(name, "cat /sys/class/net/eth0/address")).Trim();
            string addr = await host.ShellAsync(name, "ip -4 addr show eth0");
            string hostname = (await host.ShellAsync(name, "hostname")).Trim();
            string id = (await host.ShellAsync(name, "cat /run/workspace/instance-id")).Trim();
            Assert.Equal(w.Nic!.Mac, mac);
            Assert.Contains($"inet {w.Nic.Address}/24", addr);
            Assert.Equal((name, w.Id), (hostname, id));
            // It answers ws exec (through its guest agent), as itself.
            var exec = await Daemon.WsAsync("exec", name, "--", "hostname");
            Assert.Equal((0, name), (exec.ExitCode, exec.Stdout.Trim()));
            // The anti-spoofing rules let it through only with its own MAC and address.
            await host.ShellAsync(name, "ping -c 1 -W 5 10.87.0.1");
            seen.Add((mac, w.Nic.Address!, hostname, id));
        }
        Assert.Equal(10, seen.Select(s => s.Mac).Distinct().Count());
        Assert.Equal(10, seen.Select(s => s.Address).Distinct().Count());
        Assert.Equal(10, seen.Select(s => s.Host).Distinct().Count());
        Assert.Equal(10, seen.Select(s => s.Id).Distinct().Count());
        foreach (var name in names) await Daemon.Client.DeleteWorkspaceAsync(name, force: true);

        // After the first clones, the template's RAM is kept decompressed too (a plain migration stream, read-only):
        // the clones from here on restore from it, as the run below does.
        string plain = Path.Combine(Daemon.StateDir, "images", ".ram", template.State.Sha256);
        await Wait.UntilAsync(() => File.Exists(plain), TimeSpan.FromSeconds(60), "the template's RAM kept decompressed");
        Assert.Equal("QEVM"u8.ToArray(), File.ReadAllBytes(plain)[..4]);
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(plain));

        // ws run from the template: restored, the command's output and code, and nothing left behind.
        var kept = (await Daemon.Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet();
        var run = await Daemon.WsAsync("run", "guest", "--from", "warm", "--network", "default", "--", "sh", "-c", $"echo hi; kill -0 {pid} && exit 3");
        Assert.Equal((3, "hi\n"), (run.ExitCode, run.Stdout)); // exit 3 only if the template's process is there: restored, not booted
        Assert.Equal(kept, (await Daemon.Client.ListWorkspacesAsync()).Select(w => w.Name).ToHashSet());
        var notTemplate = await Daemon.WsAsync("run", "guest", "--from", "guest", "--", "true");
        Assert.NotEqual(0, notTemplate.ExitCode);
        Assert.Contains("is not a template", notTemplate.Stderr);

        // The template is an image like any other: signed by this host, exported with its chain and its RAM,
        // imported on another host (checked against its manifest there), and launched there from that RAM.
        var verified = await Daemon.Client.VerifyImageAsync("warm");
        Assert.True(verified.Intact, string.Join("; ", verified.Problems));
        Assert.Contains(verified.Signatures, s => s.Valid && s.TrustedAs == "host");
        string archive = Path.Combine(Daemon.Dir, "warm.tar");
        await Daemon.Client.ExportImageAsync("warm", archive);
        await using var otherNs = await NetNamespace.CreateAsync("st2");
        await using var other = await DaemonProcess.StartAsync(netns: otherNs.Name);
        var imported = await other.Client.ImportArchiveAsync(archive);
        Assert.Equal((template.Id, template.State.Sha256), (imported.Id, imported.State?.Sha256));
        await other.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("abroad", "warm", Network: "default"));
        await other.Client.ActAndWaitAsync("abroad", "start");
        Assert.Contains("from template", (await other.Client.GetWorkspaceAsync("abroad")).Reason);
        await GuestShell.RunAsync(other, "abroad", $"kill -0 {pid}");
        Assert.Equal("abroad", (await GuestShell.RunAsync(other, "abroad", "hostname")).Trim());

        // The decompressed copy goes with the template's blob.
        await Daemon.Client.DeleteImageAsync("warm");
        Assert.False(File.Exists(plain));
    }

    private static double Uptime(string procUptime) =>
        double.Parse(procUptime.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
