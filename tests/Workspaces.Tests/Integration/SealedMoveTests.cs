using System.Diagnostics;
using System.Text;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// A workspace on a sealed (LUKS) image moves and runs on the peer (issue #13 item 3), two real daemons in their
/// own namespaces, TCG. The disk key travels only inside the ticket, resealed by the source to host2's X25519 key;
/// host2 keeps that seal and starts the workspace with it. A marker written in the guest before the move is found
/// in a plain workspace's overlay (so the search works) but not in the sealed one's, on either host's disk, nor in
/// a packet capture of host2's cable taken during the move (which holds more bytes than the whole overlay: the
/// overlay went through it; the peer channel is TLS, and under it the overlay is LUKS ciphertext anyway).
/// A running sealed workspace moves live by default: host2's new overlay is sealed with the key the ticket brought,
/// its incoming QEMU opens it and serves the decrypted node to the mirror over NBD inside the TLS tunnel; the marker
/// is on neither the cable nor host2's disk, and the guest goes on there without rebooting.
/// </summary>
public sealed class SealedMoveTests : IAsyncLifetime
{
    private PeerHosts _peers = null!;

    public async Task InitializeAsync()
    {
        _peers = await PeerHosts.StartAsync(2);
        await _peers.JoinAllAsync();
        await GuestImages.ImportAsync(_peers[0].Client, "vault", encrypt: true);
        await GuestImages.ImportAsync(_peers[0].Client, "open");
    }

    public async Task DisposeAsync() => await _peers.DisposeAsync();

    [Fact]
    public async Task A_sealed_workspace_moves_and_runs_on_the_peer_and_its_overlay_is_never_plaintext_on_disk_or_wire()
    {
        var source = _peers[0];
        var destination = _peers[1];
        string marker = "canary-" + Guid.NewGuid().ToString("N");
        var ids = new Dictionary<string, string>();
        foreach (var (name, image) in new[] { ("sealed", "vault"), ("plain", "open") })
        {
            ids[name] = (await source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, image, 1, 128))).Id;
            await source.Client.ActAndWaitAsync(name, "start");
            await source.Daemon.WaitForConsoleAsync(name, "WORKSPACE-READY boot=1");
            await source.Daemon.WaitForConsoleAsync(name, "WORKSPACE-COMMANDS"); // its command port listens only from here
            await GuestShell.RunAsync(source.Daemon, name, $"echo {marker}-{name} > /mnt/marker && sync");
            await source.Client.ActAndWaitAsync(name, "stop");
        }
        string sourceOverlay = Overlay(source, ids["sealed"]);
        Assert.True(Holds(Overlay(source, ids["plain"]), $"{marker}-plain")); // the search finds a marker in a plain overlay
        Assert.False(Holds(sourceOverlay, $"{marker}-sealed"));

        string capture = Path.Combine(destination.Daemon.Dir, "move.pcap");
        using (var tcpdump = await CaptureAsync(destination, capture))
        {
            var moved = await source.Client.MoveAsync("sealed", new MoveRequest("host2"));
            Assert.Equal("Confirm", moved.Phase);
            await StopAsync(tcpdump);
        }
        long overlaySize = new FileInfo(Overlay(destination, ids["sealed"])).Length;
        Assert.True(new FileInfo(capture).Length > overlaySize, $"the capture ({new FileInfo(capture).Length} bytes) is smaller than the overlay ({overlaySize})");
        Assert.False(Holds(capture, marker));
        Assert.False(Holds(Overlay(destination, ids["sealed"]), marker));

        // It runs there, with its data: host2 opened the disk with the seal the ticket brought.
        await destination.Client.ActAndWaitAsync("sealed", "start");
        await destination.Daemon.WaitForConsoleAsync("sealed", "WORKSPACE-READY boot=2");
        await destination.Daemon.WaitForConsoleAsync("sealed", "WORKSPACE-COMMANDS"); // its command port listens only from here
        Assert.Equal($"{marker}-sealed", (await GuestShell.RunAsync(destination.Daemon, "sealed", "cat /mnt/marker")).Trim());
        await destination.Client.ActAndWaitAsync("sealed", "stop");
        Assert.False(Holds(Overlay(destination, ids["sealed"]), marker));
    }

    [Fact]
    public async Task A_running_sealed_workspace_moves_live_and_its_overlay_is_never_plaintext_on_the_wire_or_the_peers_disk()
    {
        var source = _peers[0];
        var destination = _peers[1];
        string marker = "canary-" + Guid.NewGuid().ToString("N");
        string id = (await source.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("sealedlive", "vault", 1, 128))).Id;
        await source.Client.ActAndWaitAsync("sealedlive", "start");
        await source.Daemon.WaitForConsoleAsync("sealedlive", "WORKSPACE-READY boot=1");
        await source.Daemon.WaitForConsoleAsync("sealedlive", "WORKSPACE-COMMANDS"); // its command port listens only from here
        await GuestShell.RunAsync(source.Daemon, "sealedlive", $"echo {marker} > /mnt/marker && sync");
        double uptimeBefore = Uptime(await GuestShell.RunAsync(source.Daemon, "sealedlive", "cat /proc/uptime"));

        string capture = Path.Combine(destination.Daemon.Dir, "live-move.pcap");
        using (var tcpdump = await CaptureAsync(destination, capture))
        {
            var moved = await source.Daemon.WsAsync("move", "sealedlive", "host2", "--progress");
            Assert.True(moved.ExitCode == 0, moved.Stderr);
            await StopAsync(tcpdump);
        }
        // Live is its default, sealed or not: the move's last progress holds QEMU's RAM figures (a cold or stateful move has none).
        var operation = (await source.Client.ListOperationsAsync()).Last(o => o.Kind == "move" && o.Target == "sealedlive");
        Assert.Equal((OperationStatus.Done, "done"), (operation.Status, operation.Transfer?.Phase));
        Assert.NotNull(operation.Transfer!.DirtyPagesRate);

        // It runs on host2, the same boot (not rebooted), with its data, from an overlay sealed there too.
        var there = await destination.Client.GetWorkspaceAsync("sealedlive");
        Assert.Equal(("Running", id), (there.State, there.Id));
        Assert.True(Uptime(await GuestShell.RunAsync(destination.Daemon, "sealedlive", "cat /proc/uptime")) > uptimeBefore, "the guest rebooted");
        Assert.Equal(marker, (await GuestShell.RunAsync(destination.Daemon, "sealedlive", "cat /mnt/marker")).Trim());
        Assert.DoesNotContain(await source.Client.ListWorkspacesAsync(), w => w.Name == "sealedlive");
        var info = await Processes.RunAsync("qemu-img", ["info", "--output=json", "-U", Overlay(destination, id)]);
        Assert.Contains("\"encrypted\": true", info.Stdout);

        // The mirror's bytes (the disk's, more than the overlay holds, with the RAM) crossed host2's cable as TLS only.
        long overlaySize = new FileInfo(Overlay(destination, id)).Length;
        Assert.True(new FileInfo(capture).Length > overlaySize, $"the capture ({new FileInfo(capture).Length} bytes) is smaller than the overlay ({overlaySize})");
        Assert.False(Holds(capture, marker));
        await destination.Client.ActAndWaitAsync("sealedlive", "stop");
        Assert.False(Holds(Overlay(destination, id), marker));
    }

    private static double Uptime(string procUptime) =>
        double.Parse(procUptime.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string Overlay(PeerHosts.Host host, string id) => Path.Combine(host.Daemon.StateDir, "workspaces", id, "disk.qcow2");

    private static bool Holds(string file, string text) => File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0;

    /// <summary>tcpdump on the host's cable, whole packets, written as they come; returned once it says it listens.</summary>
    private static async Task<Process> CaptureAsync(PeerHosts.Host host, string file)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "netns", "exec", host.Namespace.Name, "tcpdump", "-i", host.Interface, "-s", "0", "-U", "-w", file, "tcp" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        string? line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(line?.Contains("listening on") == true, $"tcpdump said: {line}");
        return process;
    }

    /// <summary>SIGINT makes tcpdump flush and exit (it is this test's own process).</summary>
    private static async Task StopAsync(Process tcpdump)
    {
        await Processes.RunAsync("kill", ["-INT", tcpdump.Id.ToString()]);
        await tcpdump.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }
}
