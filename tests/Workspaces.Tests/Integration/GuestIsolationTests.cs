using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Each guest's QEMU runs as its workspace's own uid, with no capabilities, no_new_privs and QEMU's
/// seccomp filter, owning only its own directory and disk (the jailer step Firecracker takes).
/// </summary>
public sealed class GuestIsolationTests
{
    [Fact]
    public async Task Each_guest_runs_as_its_own_unprivileged_user_and_cannot_read_another_guests_disk()
    {
        Prerequisites.RequireRoot();
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        string prefix = $"iso{Random.Shared.Next(1000, 9999)}";
        var uids = new List<uint>();
        var overlays = new List<string>();
        foreach (var name in new[] { $"{prefix}a", $"{prefix}b" })
        {
            await client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, "guest"));
            await client.ActAndWaitAsync(name, "start");
            await daemon.WaitForConsoleAsync(name, "WORKSPACE-READY");
            var w = await client.GetWorkspaceAsync(name);
            var status = File.ReadAllLines($"/proc/{w.Pid}/status").Select(l => l.Split(':', 2)).ToDictionary(f => f[0], f => f[1].Trim());
            var ids = status["Uid"].Split('\t').Select(uint.Parse).Distinct().ToArray();
            uint uid = Assert.Single(ids); // real, effective, saved and filesystem uid alike
            Assert.True(uid >= 1_900_000_000, $"QEMU runs as uid {uid}");
            Assert.Equal([uid], status["Gid"].Split('\t').Select(uint.Parse).Distinct().ToArray());
            Assert.Equal("", status["Groups"]);
            Assert.Equal("0000000000000000", status["CapEff"]);
            Assert.Equal("0000000000000000", status["CapBnd"]);
            Assert.Equal("1", status["NoNewPrivs"]);
            Assert.Equal("2", status["Seccomp"]); // filtered

            string dir = daemon.Layout.Dir(w.Id), overlay = daemon.Layout.Overlay(w.Id);
            Assert.Equal((uid, "700"), (Owner(dir), Mode(dir)));
            Assert.Equal((uid, "600"), (Owner(overlay), Mode(overlay)));
            uids.Add(uid);
            overlays.Add(overlay);
        }
        Assert.NotEqual(uids[0], uids[1]);
        Assert.Equal("711", Mode(daemon.StateDir));
        Assert.Equal("711", Mode(Path.Combine(daemon.StateDir, "images")));
        Assert.Equal("711", Mode(Path.Combine(daemon.StateDir, "workspaces")));

        // As the first guest's user, the second guest's disk cannot even be reached.
        var peek = await Processes.RunAsync("setpriv", ["--reuid", uids[0].ToString(), "--regid", uids[0].ToString(), "--clear-groups", "--", "head", "-c", "1", overlays[1]]);
        Assert.NotEqual(0, peek.ExitCode);
        Assert.Contains("Permission denied", peek.Stderr);
        var own = await Processes.RunAsync("setpriv", ["--reuid", uids[0].ToString(), "--regid", uids[0].ToString(), "--clear-groups", "--", "head", "-c", "3", overlays[0]]);
        Assert.Equal((0, "QFI"), (own.ExitCode, own.Stdout)); // its own it can: the qcow2 magic

        foreach (var name in new[] { $"{prefix}a", $"{prefix}b" }) await client.DeleteWorkspaceAsync(name, force: true); // and their cgroups
    }

    private static uint Owner(string path) => uint.Parse(Processes.RunAsync("stat", ["-c", "%u", path]).Result.Stdout.Trim());
    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);
}
