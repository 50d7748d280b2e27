using Microsoft.Data.Sqlite;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>The whole life of one workspace on a real QEMU guest.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Create_start_pause_resume_stop_start_delete_leaves_nothing_behind()
    {
        await using var daemon = await DaemonProcess.StartAsync(new() { ["accelerator"] = "auto" });
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);

        var host = await client.GetHostAsync();
        Assert.Contains(host.Accelerator, new[] { "kvm", "tcg" });
        Assert.False(string.IsNullOrWhiteSpace(host.AcceleratorReason));

        var created = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("web1", "guest", MemoryMiB: 192));
        Assert.Equal(WorkspaceStates.Defined, created.State);
        string dir = daemon.Layout.Dir(created.Id);
        Assert.True(File.Exists(daemon.Layout.Overlay(created.Id)));

        await client.ActAndWaitAsync("web1", "start");
        var running = await client.GetWorkspaceAsync("web1");
        Assert.Equal(WorkspaceStates.Running, running.State);
        int pid = running.Pid!.Value;
        Assert.True(Processes.IsAlive(pid));
        await daemon.WaitForConsoleAsync("web1", "WORKSPACE-READY boot=1");

        await client.ActAndWaitAsync("web1", "pause");
        var paused = await client.GetStatusAsync("web1");
        Assert.Equal(WorkspaceStates.Paused, paused.State);
        Assert.Equal("paused", paused.Hypervisor); // QMP query-status, asked live

        await client.ActAndWaitAsync("web1", "resume");
        var resumed = await client.GetStatusAsync("web1");
        Assert.Equal(("Running", "running"), (resumed.State, resumed.Hypervisor));

        await client.ActAndWaitAsync("web1", "stop");
        var stopped = await client.GetWorkspaceAsync("web1");
        Assert.Equal(WorkspaceStates.Stopped, stopped.State);
        Assert.Contains("powered off", stopped.Reason); // ACPI worked, not the forced path
        await Processes.WaitGoneAsync(pid, TimeSpan.FromSeconds(10));

        // Pausing a stopped workspace is an illegal transition: 409 naming what is allowed.
        var illegal = await Assert.ThrowsAsync<ApiException>(() => client.ActAsync("web1", "pause"));
        Assert.Equal(409, illegal.Status);
        Assert.Contains("Stopped", illegal.Message);
        Assert.Equal(["start", "delete", "checkin", "copy"], illegal.Problem.Allowed!);

        await client.ActAndWaitAsync("web1", "start");
        await daemon.WaitForConsoleAsync("web1", "WORKSPACE-READY boot=2"); // the counter lives on the overlay disk
        int secondPid = (await client.GetWorkspaceAsync("web1")).Pid!.Value;

        await client.DeleteWorkspaceAsync("web1", force: true);
        await Processes.WaitGoneAsync(secondPid, TimeSpan.FromSeconds(10));
        Assert.Empty(daemon.QemuPids());
        Assert.False(Directory.Exists(dir));
        using var db = new SqliteConnection($"Data Source={Path.Combine(daemon.StateDir, "workspaces.db")}");
        db.Open();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM workspaces";
        Assert.Equal(0L, (long)count.ExecuteScalar()!);
        var gone = await Assert.ThrowsAsync<ApiException>(() => client.GetWorkspaceAsync("web1"));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Events_stream_reports_state_changes()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<EventInfo>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in client.StreamEventsAsync(cts.Token))
            {
                lock (seen) seen.Add(e);
                if (e is { Type: "workspace.state", State: WorkspaceStates.Running }) return;
            }
        });
        await Task.Delay(300); // let the subscription open
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("ev1", "guest"));
        await client.ActAndWaitAsync("ev1", "start");
        await reader.WaitAsync(cts.Token);
        lock (seen)
        {
            Assert.Contains(seen, e => e is { Type: "workspace.state", Workspace: "ev1", State: WorkspaceStates.Defined });
            Assert.Contains(seen, e => e.Operation is { Kind: "start", Status: OperationStatus.Done } || e.State == WorkspaceStates.Running);
        }
        await client.DeleteWorkspaceAsync("ev1", force: true);
    }

    [Fact]
    public async Task Stop_forces_off_a_guest_that_ignores_acpi()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("deaf", "guest"));
        await client.ActAndWaitAsync("deaf", "start");
        // Right after start the guest's acpid is not yet listening: the power button goes unheard.
        await client.ActAndWaitAsync("deaf", "pause");
        await client.ActAndWaitAsync("deaf", "stop", "timeout=0");
        var w = await client.GetWorkspaceAsync("deaf");
        Assert.Equal(WorkspaceStates.Stopped, w.State);
        Assert.Contains("forced off", w.Reason);
        Assert.Empty(daemon.QemuPids());
    }
}
