using Microsoft.Data.Sqlite;
using Workspaces.Daemon.State;

namespace Workspaces.Tests.Unit;

/// <summary>
/// Where a database's guest uids start (schema step 8): an old database keeps 1900000000, which its rows'
/// uids were counted from; a new one draws a slot of a million of its own; nothing is handed out past the slot.
/// </summary>
public sealed class GuestUidBaseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ws-uids-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void A_database_made_at_schema_7_with_workspaces_keeps_base_1900000000_and_goes_on_from_its_rows()
    {
        string path = Path.Combine(_dir, "old.db");
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            SchemaMigrations.Apply(c, upTo: 7);
            Execute(c, """
                INSERT INTO images (id, name, kind, size, created_at) VALUES ('img', 'guest', 'bootset', 1, 0);
                INSERT INTO workspaces (id, name, owner, image_id, vcpus, memory_mib, state, created_at, updated_at, guest_uid)
                    VALUES ('w1', 'web1', 0, 'img', 1, 64, 'Defined', 0, 0, 1900000001);
                """);
        }
        SqliteConnection.ClearAllPools();

        var workspaces = new WorkspaceRepository(new Database(path));
        Assert.Equal(1_900_000_000u, workspaces.GuestUidBase);
        var row = NewRow("web2");
        Assert.True(workspaces.TryInsert(row));
        Assert.Equal(1_900_000_002u, row.GuestUid);
    }

    [Fact]
    public void A_new_database_draws_a_slot_of_its_own_and_hands_out_its_first_uid_first()
    {
        var bases = new List<uint>();
        for (int i = 0; i < 5; i++)
        {
            var workspaces = NewDatabase($"new{i}.db");
            uint first = workspaces.GuestUidBase;
            Assert.InRange(first, 1_901_000_000u, 3_899_000_000u); // never the old base, always below 2^32-1 with its million
            Assert.Equal(0u, first % WorkspaceRepository.GuestUidSlotSize);
            var row = NewRow("web1");
            Assert.True(workspaces.TryInsert(row));
            Assert.Equal(first, row.GuestUid);
            bases.Add(first);
        }
        Assert.True(bases.Distinct().Count() > 1, $"five databases drew the same base {bases[0]}"); // 1 in 1999^4 by chance
    }

    [Fact]
    public void A_workspace_whose_uid_would_leave_the_slot_is_refused_and_not_recorded()
    {
        var workspaces = NewDatabase("full.db");
        var last = NewRow("last");
        Assert.True(workspaces.TryInsert(last));
        using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "full.db")}"))
        {
            c.Open();
            Execute(c, $"UPDATE workspaces SET guest_uid = {workspaces.GuestUidBase + WorkspaceRepository.GuestUidSlotSize - 1}");
        }

        var refused = Assert.Throws<GuestUidsExhaustedException>(() => workspaces.TryInsert(NewRow("one-too-many")));
        Assert.Contains($"{workspaces.GuestUidBase}-{workspaces.GuestUidBase + WorkspaceRepository.GuestUidSlotSize - 1}", refused.Message);
        Assert.Equal(1, workspaces.Count());
    }

    private WorkspaceRepository NewDatabase(string name)
    {
        var db = new Database(Path.Combine(_dir, name));
        using (var c = db.Open())
            Execute(c, "INSERT INTO images (id, name, kind, size, created_at) VALUES ('img', 'guest', 'bootset', 1, 0)");
        return new WorkspaceRepository(db);
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static WorkspaceRow NewRow(string name) => new()
    {
        Id = Guid.NewGuid().ToString("N")[..16], Name = name, ImageId = "img", Vcpus = 1, MemoryMib = 64, State = "Defined",
    };
}
