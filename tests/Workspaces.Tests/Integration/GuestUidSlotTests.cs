using Microsoft.Data.Sqlite;
using Workspaces.Client;
using Workspaces.Daemon.State;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Two daemons on one host (as federation runs them) never hand their guests the same uid: each database
/// has a slot of its own, and a daemon does not start on a slot another live daemon holds.
/// </summary>
public sealed class GuestUidSlotTests
{
    [Fact]
    public async Task Two_daemons_on_one_host_run_their_guests_as_uids_from_disjoint_slots()
    {
        Prerequisites.RequireRoot();
        await using var a = await DaemonProcess.StartAsync();
        uint baseA = GuestUidBaseOf(a);
        // B's database is made first so its draw can be checked: the 1-in-1999 draw of A's slot would make B
        // move at start (the test below), which is not what this test is about; it draws again then.
        await using var b = new DaemonProcess();
        while (SeedDatabase(b, slotOf: null) == baseA) File.Delete(Path.Combine(b.StateDir, "workspaces.db"));
        await b.StartAsync();
        uint baseB = GuestUidBaseOf(b);
        Assert.True(baseA + WorkspaceRepository.GuestUidSlotSize <= baseB || baseB + WorkspaceRepository.GuestUidSlotSize <= baseA,
            $"slots overlap: {baseA} and {baseB}");

        var uids = new List<uint>();
        foreach (var (daemon, first) in new[] { (a, baseA), (b, baseB) })
        {
            await GuestImages.ImportAsync(daemon.Client);
            await daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("uids", "guest"));
            await daemon.Client.ActAndWaitAsync("uids", "start");
            var w = await daemon.Client.GetWorkspaceAsync("uids");
            uint uid = Assert.Single(File.ReadLines($"/proc/{w.Pid}/status").First(l => l.StartsWith("Uid:"))
                .Split('\t', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(uint.Parse).Distinct());
            Assert.Equal(first, uid); // each daemon's first workspace runs as its slot's first uid
            uids.Add(uid);
        }
        Assert.NotEqual(uids[0], uids[1]);
        foreach (var daemon in new[] { a, b }) await daemon.Client.DeleteWorkspaceAsync("uids", force: true); // and their cgroups
    }

    [Fact]
    public async Task A_fresh_database_on_a_slot_another_live_daemon_holds_draws_another()
    {
        Prerequisites.RequireRoot();
        await using var a = await DaemonProcess.StartAsync();
        await using var b = new DaemonProcess();
        SeedDatabase(b, slotOf: GuestUidBaseOf(a));
        await b.StartAsync(); // no uid handed out yet: it moves rather than refuses
        uint baseA = GuestUidBaseOf(a), baseB = GuestUidBaseOf(b);
        Assert.True(baseA + WorkspaceRepository.GuestUidSlotSize <= baseB || baseB + WorkspaceRepository.GuestUidSlotSize <= baseA,
            $"slots overlap: {baseA} and {baseB}");
    }

    [Fact]
    public async Task A_daemon_with_workspaces_on_a_slot_another_live_daemon_holds_refuses_to_start_naming_it_and_starts_once_it_is_gone()
    {
        Prerequisites.RequireRoot();
        await using var a = await DaemonProcess.StartAsync();
        await using var b = await DaemonProcess.StartAsync();
        await GuestImages.ImportAsync(b.Client);
        await b.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("holds-uids", "guest"));
        await b.KillAsync();
        SeedDatabase(b, slotOf: GuestUidBaseOf(a)); // as if both had drawn one slot: b's uids are handed out, so it may not move
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(b.StartAsync);
        Assert.StartsWith("workspacesd exited (2)", refused.Message);
        await b.WaitForExitAsync(TimeSpan.FromSeconds(10)); // its output is read to the end
        string line = b.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        Assert.Contains($"are already handed out by the workspacesd of state dir {a.StateDir}", line);
        Assert.Contains($"so this one ({b.StateDir}) does not start", line);
        // A crash releases the lock with the process: nothing is left to clean up.
        await a.KillAsync();
        await b.StartAsync();
    }

    /// <summary>Makes the daemon's database before its first start, on another's base if given; returns its base.</summary>
    private static uint SeedDatabase(DaemonProcess daemon, uint? slotOf)
    {
        Directory.CreateDirectory(daemon.StateDir);
        var db = new Database(Path.Combine(daemon.StateDir, "workspaces.db"));
        using (var c = db.Open())
        using (var command = c.CreateCommand())
        {
            command.CommandText = slotOf is { } taken ? $"UPDATE host_settings SET value = '{taken}' WHERE key = 'guest_uid_base'" : "SELECT 1";
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools(); // the daemon is the database's only user from here on
        return GuestUidBase(db.Path);
    }

    private static uint GuestUidBaseOf(DaemonProcess daemon) => GuestUidBase(Path.Combine(daemon.StateDir, "workspaces.db"));

    private static uint GuestUidBase(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var command = c.CreateCommand();
        command.CommandText = "SELECT value FROM host_settings WHERE key = 'guest_uid_base'";
        return uint.Parse((string)command.ExecuteScalar()!);
    }
}
