using Microsoft.Data.Sqlite;
using Workspaces.Daemon.Network;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit;

/// <summary>
/// The parts of issue 16 that need no daemon: the address pool's arithmetic, schema step 12 (stopped
/// workspaces give their address back, running ones keep it), leases following the state in one
/// transaction, and locks that leave nothing behind per workspace.
/// </summary>
public sealed class ScaleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ws-scale-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void The_lowest_free_address_is_found_from_the_leases_alone_in_small_and_large_subnets()
    {
        var tiny = Subnet.Parse("10.88.0.0/29");
        Assert.Equal(5, tiny.Size);
        Assert.Equal("10.88.0.2", tiny.FirstFree([])!.ToString());
        Assert.Equal("10.88.0.3", tiny.FirstFree(["10.88.0.2", "10.88.0.4"])!.ToString());
        Assert.Equal("10.88.0.6", tiny.FirstFree(["10.88.0.5", "10.88.0.2", "10.88.0.4", "10.88.0.3"])!.ToString());
        Assert.Null(tiny.FirstFree(["10.88.0.2", "10.88.0.3", "10.88.0.4", "10.88.0.5", "10.88.0.6"]));

        var large = Subnet.Parse("10.90.0.0/16");
        Assert.Equal(65533, large.Size);
        var taken = Enumerable.Range(2, 300).Select(i => $"10.90.{i >> 8}.{i & 255}").ToList();
        Assert.Equal("10.90.1.46", large.FirstFree(taken)!.ToString()); // offset 302
        var huge = Subnet.Parse("10.0.0.0/8");
        Assert.Equal((1L << 24) - 3, huge.Size);
        Assert.Equal("10.0.0.3", huge.FirstFree(["10.0.0.2"])!.ToString());
    }

    [Fact]
    public void Schema_step_12_takes_the_address_of_workspaces_that_do_not_run_and_keeps_the_running_ones()
    {
        string path = Path.Combine(_dir, "old.db");
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            SchemaMigrations.Apply(c, upTo: 11); // as a daemon before step 12 left it (later steps may follow)
            Execute(c, """
                INSERT INTO images (id, name, kind, size, created_at) VALUES ('img', 'guest', 'bootset', 1, 0);
                INSERT INTO networks (name, bridge, subnet, gateway, nat, isolated, isolate_owners, egress, created_at)
                    VALUES ('default', 'wsbr-default', '10.87.0.0/24', '10.87.0.1', 1, 0, 0, '', 0);
                INSERT INTO workspaces (id, name, owner, image_id, vcpus, memory_mib, state, created_at, updated_at, guest_uid)
                    VALUES ('run', 'run', 0, 'img', 1, 64, 'Running', 0, 0, 1900000001),
                           ('paused', 'paused', 0, 'img', 1, 64, 'Paused', 0, 0, 1900000002),
                           ('idle', 'idle', 0, 'img', 1, 64, 'Defined', 0, 0, 1900000003),
                           ('down', 'down', 0, 'img', 1, 64, 'Stopped', 0, 0, 1900000004);
                INSERT INTO nics (workspace_id, network, mac, address, tap, egress, rate_kbit)
                    VALUES ('run', 'default', '52:54:00:00:00:01', '10.87.0.2', 'wst1', NULL, NULL),
                           ('paused', 'default', '52:54:00:00:00:02', '10.87.0.3', 'wst2', NULL, 100),
                           ('idle', 'default', '52:54:00:00:00:03', '10.87.0.4', 'wst3', '10.0.0.0/8', NULL),
                           ('down', 'default', '52:54:00:00:00:04', '10.87.0.5', 'wst4', NULL, NULL);
                """);
        }
        SqliteConnection.ClearAllPools();

        var networks = new NetworkRepository(new Database(path));
        var nics = networks.Nics("default").ToDictionary(n => n.WorkspaceId);
        Assert.Equal(("10.87.0.2", "10.87.0.3", null, null), (nics["run"].Address, nics["paused"].Address, nics["idle"].Address, nics["down"].Address));
        // Identity and policy carried over whole.
        Assert.Equal(("52:54:00:00:00:03", "wst3", "10.0.0.0/8"), (nics["idle"].Mac, nics["idle"].Tap, nics["idle"].Egress));
        Assert.Equal(100, nics["paused"].RateKbit);
        Assert.Equal(["run", "paused"], networks.Leased("default").Select(n => n.WorkspaceId).Order().Reverse());
    }

    [Fact]
    public void A_lease_is_unique_in_its_network_and_goes_with_the_state_in_one_transaction()
    {
        var db = new Database(Path.Combine(_dir, "leases.db"));
        using (var c = db.Open())
            Execute(c, """
                INSERT INTO images (id, name, kind, size, created_at) VALUES ('img', 'guest', 'bootset', 1, 0);
                INSERT INTO networks (name, bridge, subnet, gateway, nat, isolated, isolate_owners, egress, created_at)
                    VALUES ('tiny', 'wsbr-tiny', '10.88.0.0/29', '10.88.0.1', 0, 0, 0, '', 0);
                """);
        var workspaces = new WorkspaceRepository(db);
        var networks = new NetworkRepository(db);
        foreach (var name in new[] { "a", "b" })
        {
            Assert.True(workspaces.TryInsert(new WorkspaceRow { Id = name + "-id", Name = name, ImageId = "img", Vcpus = 1, MemoryMib = 64, State = "Defined" }));
            Assert.True(networks.TryInsertNic(new NicRow { WorkspaceId = name + "-id", Network = "tiny", Mac = $"52:54:00:00:00:0{name[0] - 'a'}", Tap = "wst" + name }));
        }
        Assert.Empty(networks.AddressesIn("tiny"));
        Assert.True(networks.TryLease("a-id", "10.88.0.2"));
        Assert.False(networks.TryLease("b-id", "10.88.0.2")); // taken: the constraint decides
        Assert.False(networks.TryLease("a-id", "10.88.0.3")); // a holds one already
        Assert.True(networks.TryLease("b-id", "10.88.0.3"));

        workspaces.SetState("a-id", "Running", "started", 1, "tcg");
        Assert.Equal("10.88.0.2", networks.NicOf("a-id")!.Address);
        workspaces.SetState("a-id", "Stopped", "stopped", null, "tcg");
        Assert.Null(networks.NicOf("a-id")!.Address);
        // b leased, then the daemon died before its start was recorded: taken back at the next start.
        Assert.Equal(1, networks.ReturnStaleLeases());
        Assert.Empty(networks.Leased("tiny"));
    }

    [Fact]
    public async Task Workspace_locks_exclude_each_other_and_leave_nothing_behind()
    {
        var locks = new WorkspaceLocks();
        for (int i = 0; i < 1000; i++) (await locks.TakeAsync($"w{i}", CancellationToken.None)).Dispose();
        Assert.Equal(0, locks.Count);

        var held = await locks.TakeAsync("w", CancellationToken.None);
        var waiting = locks.TakeAsync("w", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var canceled = locks.TakeAsync("w", cancel.Token);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, locks.Count);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        held.Dispose();
        (await waiting).Dispose();
        held.Dispose(); // twice is once
        Assert.Equal(0, locks.Count);
        (await locks.TakeAsync("w", CancellationToken.None)).Dispose(); // and the lock still works
        Assert.Equal(0, locks.Count);
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
