using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Data disks on real guests: hot-plugged into a running one, attached at start to a stopped one,
/// kept across stop/start, copied with the workspace, unplugged again. The guest is looked into through
/// its shell port (the disk is found by its serial, which is the disk's name).
/// </summary>
public sealed class DataDiskTests
{
    private static readonly TimeSpan PlugPatience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_disk_hot_plugged_into_a_running_guest_keeps_a_file_across_a_restart_and_unplugs()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("dd", "guest"));
        await client.ActAndWaitAsync("dd", "start");
        await daemon.WaitForConsoleAsync("dd", "WORKSPACE-COMMANDS");
        Assert.Equal("", await DeviceAsync(daemon, "dd", "scratch"));
        string partitionsBefore = await GuestShell.RunAsync(daemon, "dd", "cat /proc/partitions");

        var added = await client.AddDiskAsync("dd", new AddDiskRequest("scratch", Size: "64M"));
        Assert.True(added.Attached);
        Assert.Equal(64L << 20, added.SizeBytes);
        Assert.Equal("/dev/disk/by-id/virtio-scratch", added.GuestDevice);
        string dev = await WaitForDeviceAsync(daemon, "dd", "scratch");
        Assert.DoesNotContain(dev, partitionsBefore);
        Assert.Contains(dev, await GuestShell.RunAsync(daemon, "dd", "cat /proc/partitions"));
        Assert.Equal((64L << 20) / 512, long.Parse((await GuestShell.RunAsync(daemon, "dd", $"cat /sys/block/{dev}/size")).Trim()));
        await GuestShell.RunAsync(daemon, "dd", $"mke2fs -q /dev/{dev} && mkdir -p /data && mount /dev/{dev} /data && echo kept-across > /data/file && umount /data");

        // Its file is the guest's, as the overlay is; the CLI lists it as attached, with the guest's path.
        var id = (await client.GetWorkspaceAsync("dd")).Id;
        string file = Path.Combine(daemon.Layout.Dir(id), "data-scratch.qcow2");
        Assert.Equal(new FileInfo(daemon.Layout.Overlay(id)).UnixFileMode, new FileInfo(file).UnixFileMode);
        Assert.Equal((await Processes.RunAsync("stat", ["-c", "%u:%g", daemon.Layout.Overlay(id)])).Stdout, (await Processes.RunAsync("stat", ["-c", "%u:%g", file])).Stdout);
        var listed = await daemon.WsAsync("disk", "list", "dd");
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Matches(@"scratch\s+64\.0 MiB\s+blank\s+yes\s+/dev/disk/by-id/virtio-scratch", listed.Stdout);

        await client.ActAndWaitAsync("dd", "stop");
        Assert.False(Assert.Single(await client.ListDisksAsync("dd")).Attached);
        await client.ActAndWaitAsync("dd", "start");
        await daemon.WaitForConsoleAsync("dd", "WORKSPACE-COMMANDS");
        dev = await DeviceAsync(daemon, "dd", "scratch"); // plugged before the guest ran: there at boot, no waiting
        Assert.NotEqual("", dev);
        Assert.Equal("kept-across\n", await GuestShell.RunAsync(daemon, "dd", $"mkdir -p /data && mount /dev/{dev} /data && cat /data/file; umount /data"));

        var removed = await daemon.WsAsync("disk", "rm", "dd", "scratch");
        Assert.True(removed.ExitCode == 0, removed.Stderr);
        Assert.Equal("", await DeviceAsync(daemon, "dd", "scratch")); // the unplug returned once the guest had let go
        Assert.DoesNotContain(dev, await GuestShell.RunAsync(daemon, "dd", "cat /proc/partitions"));
        Assert.False(File.Exists(file));
        Assert.Empty(await client.ListDisksAsync("dd"));

        // The port is free again: a new disk takes it.
        var again = await client.AddDiskAsync("dd", new AddDiskRequest("again", Size: "16M"));
        Assert.Equal(added.Slot, again.Slot);
        await WaitForDeviceAsync(daemon, "dd", "again");
    }

    [Fact]
    public async Task A_disk_added_to_a_stopped_workspace_appears_at_start_and_a_copy_carries_its_disks()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        // A disk-only image with the test guest's file system, its own content (another cluster size): its own blob.
        string extraDisk = Path.Combine(daemon.Dir, "extra.qcow2");
        var converted = await Processes.RunAsync("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=4096", (await TestGuest.GetAsync()).Disk, extraDisk]);
        Assert.True(converted.ExitCode == 0, converted.Stderr);
        var extra = await client.ImportLocalImageAsync(new ImageUpload("extra", extraDisk));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("cold", "guest"));
        var onImage = await client.AddDiskAsync("cold", new AddDiskRequest("data", Image: "extra"));
        Assert.Equal(("image", "extra", extra.DiskVirtualSize, false), (onImage.Kind, onImage.Image, (long?)onImage.SizeBytes, onImage.Attached));
        await client.AddDiskAsync("cold", new AddDiskRequest("blank", Size: "32M"));
        Assert.Equal(["data", "blank"], (await client.ListDisksAsync("cold")).Select(d => d.Name));

        // An image a data disk stands on is in use.
        var used = await Assert.ThrowsAsync<ApiException>(() => client.DeleteImageAsync("extra"));
        Assert.Equal(409, used.Status);
        Assert.Contains("data disk data of workspace cold", used.Message);

        await client.ActAndWaitAsync("cold", "start");
        await daemon.WaitForConsoleAsync("cold", "WORKSPACE-COMMANDS");
        Assert.All(await client.ListDisksAsync("cold"), d => Assert.True(d.Attached, d.Name));
        string data = await DeviceAsync(daemon, "cold", "data"), blank = await DeviceAsync(daemon, "cold", "blank");
        Assert.NotEqual("", data);
        Assert.NotEqual("", blank);
        // The overlay shows the image's file system (the test guest's disk: ext4 labelled "workspace").
        // (an ext4 volume label is 16 bytes at 1144: the superblock at 1024, the label 120 bytes into it).
        Assert.Equal("workspace", (await GuestShell.RunAsync(daemon, "cold", $"dd if=/dev/{data} bs=1 skip=1144 count=9 2>/dev/null | cat")).Trim());
        await GuestShell.RunAsync(daemon, "cold", $"mkdir -p /d && mount /dev/{data} /d && echo from-cold > /d/carried && umount /d");
        await client.ActAndWaitAsync("cold", "stop");

        var twin = await client.CopyWorkspaceAsync("cold", "twin");
        var twinDisks = await client.ListDisksAsync("twin");
        Assert.Equal(["data", "blank"], twinDisks.Select(d => d.Name));
        Assert.True(File.Exists(Path.Combine(daemon.Layout.Dir(twin.Id), "data-data.qcow2")));
        await client.ActAndWaitAsync("twin", "start");
        await daemon.WaitForConsoleAsync("twin", "WORKSPACE-COMMANDS");
        string twinData = await DeviceAsync(daemon, "twin", "data");
        Assert.Equal("from-cold\n", await GuestShell.RunAsync(daemon, "twin", $"mkdir -p /d && mount /dev/{twinData} /d && cat /d/carried; umount /d"));
        await client.ActAndWaitAsync("twin", "stop", "force=true");

        // The copy's disk is its own: removing the original's leaves the copy's file and record.
        await client.RemoveDiskAsync("cold", "data");
        Assert.Equal(["data", "blank"], (await client.ListDisksAsync("twin")).Select(d => d.Name));
        Assert.True(File.Exists(Path.Combine(daemon.Layout.Dir(twin.Id), "data-data.qcow2")));
    }

    [Fact]
    public async Task A_sealed_workspace_gets_sealed_data_disks_and_refuses_another_lineages_disk()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client, "sealed", encrypt: true);
        await GuestImages.ImportAsync(client, "other", encrypt: true);
        await GuestImages.ImportAsync(client, "plain");
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("vault", "sealed"));
        await client.ActAndWaitAsync("vault", "start");
        await daemon.WaitForConsoleAsync("vault", "WORKSPACE-COMMANDS");

        var blank = await client.AddDiskAsync("vault", new AddDiskRequest("secret", Size: "16M"));
        Assert.True(blank.Sealed);
        var id = (await client.GetWorkspaceAsync("vault")).Id;
        var info = await Processes.RunAsync("qemu-img", ["info", "-U", "--output=json", Path.Combine(daemon.Layout.Dir(id), "data-secret.qcow2")]);
        Assert.Contains("\"encrypted\": true", info.Stdout);
        string dev = await WaitForDeviceAsync(daemon, "vault", "secret");
        await GuestShell.RunAsync(daemon, "vault", $"mke2fs -q /dev/{dev} && mkdir -p /s && mount /dev/{dev} /s && echo sealed-data > /s/f && sync && umount /s");
        Assert.DoesNotContain("sealed-data", await File.ReadAllTextAsync(Path.Combine(daemon.Layout.Dir(id), "data-secret.qcow2")));

        // A plain image's disk under a sealed overlay is fine; another sealed lineage's is not (one key per guest).
        Assert.True((await client.AddDiskAsync("vault", new AddDiskRequest("base", Image: "plain"))).Sealed);
        await WaitForDeviceAsync(daemon, "vault", "base");
        var other = await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("vault", new AddDiskRequest("foreign", Image: "other")));
        Assert.Equal(409, other.Status);
        Assert.Contains("same sealed lineage", other.Message);
        Assert.Equal(["secret", "base"], (await client.ListDisksAsync("vault")).Select(d => d.Name));
    }

    [Fact]
    public async Task Bad_names_and_sizes_are_refused_with_400_and_nothing_is_made()
    {
        await using var daemon = await DaemonProcess.StartAsync(new() { ["policy"] = new Dictionary<string, object> { ["maxDataDiskGiB"] = 2 } });
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        var w = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("shape", "guest"));

        foreach (var name in new[] { "", "Upper", "a/b", "../x", "x,y", "-lead", "trail-", "ok\n", new string('a', 21), "a.b" })
        {
            var e = await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest(name, Size: "16M")));
            Assert.True(e.Status == 400, $"{name}: {e.Status} {e.Message}");
        }
        foreach (var size in new[] { "", "10X", "-1", "1", "1.5G", "3G", "99999999999999999T", "16M\n", "1000", "G" })
        {
            var e = await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d", Size: size)));
            Assert.True(e.Status == 400, $"{size}: {e.Status} {e.Message}");
        }
        Assert.Equal(400, (await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d")))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d", "16M", "guest")))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d", Image: "nosuch")))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ApiException>(() => client.RemoveDiskAsync("shape", "nosuch"))).Status);
        Assert.Empty(await client.ListDisksAsync("shape"));
        Assert.Empty(Directory.EnumerateFiles(daemon.Layout.Dir(w.Id), "*data-*"));

        // The largest allowed size is fine, a name is taken once, and slots run out after eight.
        Assert.Equal(2L << 30, (await client.AddDiskAsync("shape", new AddDiskRequest("d0", Size: "2G"))).SizeBytes);
        Assert.Equal(409, (await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d0", Size: "1M")))).Status);
        for (int i = 1; i < 8; i++) await client.AddDiskAsync("shape", new AddDiskRequest($"d{i}", Size: "1M"));
        var full = await Assert.ThrowsAsync<ApiException>(() => client.AddDiskAsync("shape", new AddDiskRequest("d8", Size: "1M")));
        Assert.Equal(409, full.Status);
        Assert.Equal(Enumerable.Range(0, 8), (await client.ListDisksAsync("shape")).Select(d => d.Slot));

        // Bad input through the CLI is a one-line error and a non-zero exit.
        var cli = await daemon.WsAsync("disk", "add", "shape", "Bad", "--size", "1M");
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("invalid disk name", cli.Stderr);
    }

    [Fact]
    public async Task A_checkin_leaves_the_data_disks_with_the_workspace_and_will_not_seal_around_disks_in_clear()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        var w = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("keeper", "guest"));
        await client.AddDiskAsync("keeper", new AddDiskRequest("kept", Size: "8M"));

        var sealing = await Assert.ThrowsAsync<ApiException>(() => client.CheckinAsync("keeper", new CheckinRequest("sealed-v2", Encrypt: true)));
        Assert.Equal(409, sealing.Status);
        Assert.Contains("data disks in clear", sealing.Message);

        await client.CheckinAsync("keeper", new CheckinRequest("keeper-v2"));
        Assert.Equal("keeper-v2", (await client.GetWorkspaceAsync("keeper")).ImageName);
        Assert.Equal("kept", Assert.Single(await client.ListDisksAsync("keeper")).Name);
        Assert.True(File.Exists(Path.Combine(daemon.Layout.Dir(w.Id), "data-kept.qcow2")));
    }

    /// <summary>The guest's block device whose serial is the disk's name ("" when there is none).</summary>
    private static async Task<string> DeviceAsync(DaemonProcess daemon, string workspace, string serial) =>
        (await GuestShell.RunAsync(daemon, workspace,
            $"for d in /sys/block/vd*; do [ \"$(cat $d/serial 2>/dev/null)\" = {serial} ] && echo ${{d##*/}}; done; true")).Trim();

    /// <summary>A hot-plugged disk reaches the guest when its kernel has handled the hot-plug event: polled.</summary>
    private static async Task<string> WaitForDeviceAsync(DaemonProcess daemon, string workspace, string serial)
    {
        string dev = "";
        await Wait.UntilAsync(async () => (dev = await DeviceAsync(daemon, workspace, serial)) != "", PlugPatience, $"disk {serial} in {workspace}");
        return dev;
    }
}
