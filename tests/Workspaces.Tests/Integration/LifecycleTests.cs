using System.Text.Json;
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
    public async Task Events_stream_reports_state_changes_in_order()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var raw = new RawHttp(daemon.Socket);
        // The daemon subscribes before it sends the answer's headers: once they are here, nothing after is missed.
        using var events = new StreamReader(await raw.OpenAsync("v1/events", cts.Token));

        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("ev1", "guest"));
        var start = await client.ActAsync("ev1", "start");
        var seen = new List<EventInfo>();
        while (await events.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0) continue;
            var e = JsonSerializer.Deserialize(line, WorkspacesJson.Default.EventInfo)!;
            seen.Add(e);
            if (e.Operation is { } op && op.Id == start.Id && op.Status != OperationStatus.Running) break;
        }

        // Exactly these, in this order: the state is committed (and published) before the operation ends.
        Assert.Equal(
            ["workspace.state Defined", $"operation start {OperationStatus.Running}", "workspace.state Running", $"operation start {OperationStatus.Done}"],
            seen.Where(e => e.Workspace == "ev1").Select(e => e.Operation is { } op ? $"operation {op.Kind} {op.Status}" : $"{e.Type} {e.State}"));
        Assert.All(seen.Where(e => e.Operation is not null), e => Assert.Equal(start.Id, e.Operation!.Id));
        Assert.Equal("started (tcg)", seen.Single(e => e.State == WorkspaceStates.Running).Reason);
        await client.DeleteWorkspaceAsync("ev1", force: true);
    }

    /// <summary>
    /// A stop waits its timeout for the guest to power off after ACPI powerdown, then forces it off. The
    /// same short timeout tells the two apart: a guest that hears the power button powers off within it,
    /// one booted with workspaces.noacpi (no acpid: the button goes unheard) is forced off after it.
    /// </summary>
    [Fact]
    public async Task Stop_forces_off_a_guest_that_ignores_acpi_after_its_timeout_and_a_listening_guest_stops_cleanly()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        var image = await GuestImages.ImportAsync(client);
        // Neither runs a guest agent (workspaces.noagent), so the stop presses the power button (GuestExecTests covers guest-shutdown).
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("deaf", "guest", Cmdline: image.Cmdline + " workspaces.noacpi workspaces.noagent"));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("hears", "guest", Cmdline: image.Cmdline + " workspaces.noagent"));
        foreach (var name in new[] { "deaf", "hears" }) await client.ActAndWaitAsync(name, "start");
        // READY: the guest's power-button handling is in place (or, with the flag, for certain never will be).
        string deafBoot = await daemon.WaitForConsoleAsync("deaf", "WORKSPACE-READY");
        Assert.Contains("WORKSPACE-NOACPI the power button is ignored", deafBoot); // the flag reached the guest
        await daemon.WaitForConsoleAsync("hears", "WORKSPACE-READY");

        await client.ActAndWaitAsync("hears", "stop", "timeout=5");
        var hears = await client.GetWorkspaceAsync("hears");
        Assert.Equal((WorkspaceStates.Stopped, "stopped: the guest powered off after ACPI powerdown"), (hears.State, hears.Reason));
        Assert.Contains("WORKSPACE-POWERDOWN", await ConsoleAsync(client, "hears"));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await client.ActAndWaitAsync("deaf", "stop", "timeout=5");
        var deaf = await client.GetWorkspaceAsync("deaf");
        Assert.Equal((WorkspaceStates.Stopped, "forced off: the guest did not power off within 5 s of ACPI powerdown"), (deaf.State, deaf.Reason));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(5), $"the stop took {clock.Elapsed.TotalSeconds:0.0} s: it did not wait out its timeout");
        Assert.DoesNotContain("WORKSPACE-POWERDOWN", await ConsoleAsync(client, "deaf"));
        Assert.Empty(daemon.QemuPids());
    }

    private static async Task<string> ConsoleAsync(WorkspacesClient client, string name)
    {
        await using var stream = await client.OpenConsoleAsync(name, follow: false);
        return await new StreamReader(stream).ReadToEndAsync();
    }
}
