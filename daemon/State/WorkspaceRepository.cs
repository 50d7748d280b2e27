using System.Globalization;
using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The workspaces table. Each method is one statement or one transaction.</summary>
public sealed class WorkspaceRepository(Database db)
{
    private const string Select = """
        SELECT w.*, i.name AS image_name FROM workspaces w JOIN images i ON i.id = w.image_id
        """;

    public IReadOnlyList<WorkspaceRow> List(uint? owner = null)
    {
        using var c = db.Open();
        return owner is null
            ? c.Query<WorkspaceRow>($"{Select} ORDER BY w.name, w.owner").AsList()
            : c.Query<WorkspaceRow>($"{Select} WHERE w.owner = @owner ORDER BY w.name", new { owner }).AsList();
    }

    /// <summary>Every workspace's id, and nothing else (what a scan of the state dir checks against).</summary>
    public HashSet<string> Ids()
    {
        using var c = db.Open();
        return c.Query<string>("SELECT id FROM workspaces").ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// One page of a listing, in (name, owner) order; each filter narrows through an index
    /// (workspaces_name_owner, workspaces_state_name, workspaces_image_name; schema step 12).
    /// </summary>
    public IReadOnlyList<WorkspaceRow> Page(WorkspaceQuery query)
    {
        var sql = new System.Text.StringBuilder(Select).Append(" WHERE 1 = 1");
        if (query.Owner is not null) sql.Append(" AND w.owner = @owner");
        if (query.State is not null) sql.Append(" AND w.state = @state");
        if (query.Image is not null) sql.Append(" AND w.image_id IN (SELECT id FROM images WHERE name = @image OR id = @image)");
        // A range rather than LIKE, so the (name, owner) index serves it; names are ASCII, all below U+FFFF.
        if (query.NamePrefix is not null) sql.Append(" AND w.name >= @prefix AND w.name < @prefixEnd");
        if (query.After is not null) sql.Append(" AND (w.name, w.owner) > (@afterName, @afterOwner)");
        sql.Append(" ORDER BY w.name, w.owner");
        if (query.Limit is not null) sql.Append(" LIMIT @limit");
        using var c = db.Open();
        return c.Query<WorkspaceRow>(sql.ToString(), new
        {
            owner = (long?)query.Owner, state = query.State, image = query.Image,
            prefix = query.NamePrefix, prefixEnd = query.NamePrefix + '\uffff',
            afterName = query.After?.Name, afterOwner = (long?)query.After?.Owner, limit = query.Limit,
        }).AsList();
    }

    /// <summary>Names are per owner: one of this owner's workspaces.</summary>
    public WorkspaceRow? Find(uint owner, string name)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<WorkspaceRow>($"{Select} WHERE w.owner = @owner AND w.name = @name", new { owner = (long)owner, name });
    }

    /// <summary>The owners other than this one that have a workspace of this name (for an admin's hint).</summary>
    public IReadOnlyList<uint> OwnersOf(string name, uint except)
    {
        using var c = db.Open();
        return c.Query<long>("SELECT owner FROM workspaces WHERE name = @name AND owner != @except ORDER BY owner", new { name, except = (long)except })
            .Select(o => (uint)o).ToList();
    }

    public WorkspaceRow? FindById(string id)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<WorkspaceRow>($"{Select} WHERE w.id = @id", new { id });
    }

    /// <summary>How many guest uids one database hands out: its slot, from its base (schema step 8).</summary>
    public const uint GuestUidSlotSize = 1_000_000;

    private uint? _guestUidBase;

    /// <summary>
    /// The first uid (and gid) guests of this database run as, far above people's and systemd's dynamic users:
    /// 1900000000 for a database older than slots, else its own slot's (read once; it changes only by a redraw).
    /// </summary>
    public uint GuestUidBase => _guestUidBase ??= ReadGuestUidBase();

    private uint ReadGuestUidBase()
    {
        using var c = db.Open();
        return uint.Parse(c.QuerySingle<string>("SELECT value FROM host_settings WHERE key = 'guest_uid_base'"), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Moves a database that has handed out no uid yet to another random slot (its own is held by another
    /// live daemon). False once it has workspaces: their uids are in their rows, and the slot is theirs.
    /// </summary>
    public bool TryRedrawGuestUidBase()
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        if (c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM workspaces)", transaction: tx)) return false;
        long next = 1_900_000_000L + Random.Shared.Next(1, 2000) * (long)GuestUidSlotSize;
        c.Execute("UPDATE host_settings SET value = @value WHERE key = 'guest_uid_base'",
            new { value = next.ToString(CultureInfo.InvariantCulture) }, tx);
        tx.Commit();
        _guestUidBase = (uint)next;
        return true;
    }

    /// <summary>
    /// Inserts a new workspace; false when its owner already has one of that name (the UNIQUE constraint decides races).
    /// Its guest uid is allocated in the same statement (SQLite runs one writer at a time), and set on the row; one past
    /// the slot is refused (GuestUidsExhaustedException) and rolled back, as it could be another daemon's guest's uid.
    /// </summary>
    public bool TryInsert(WorkspaceRow row)
    {
        uint first = GuestUidBase;
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var uid = c.QuerySingleOrDefault<long?>("""
            INSERT INTO workspaces (id, name, owner, image_id, vcpus, memory_mib, cmdline, state, reason, pid, accelerator,
                                    cpu_quota_percent, cpu_weight, tasks_max, io_weight, created_at, updated_at, guest_uid, cpu_model, copied_from)
            VALUES (@Id, @Name, @Owner, @ImageId, @Vcpus, @MemoryMib, @Cmdline, @State, @Reason, @Pid, @Accelerator,
                    @CpuQuotaPercent, @CpuWeight, @TasksMax, @IoWeight, @CreatedAt, @UpdatedAt,
                    COALESCE((SELECT MAX(guest_uid) FROM workspaces), @Base - 1) + 1, @CpuModel, @CopiedFrom)
            ON CONFLICT(owner, name) DO NOTHING
            RETURNING guest_uid
            """, new
        {
            row.Id, row.Name, row.Owner, row.ImageId, row.Vcpus, row.MemoryMib, row.Cmdline, row.State, row.Reason, row.Pid, row.Accelerator,
            row.CpuQuotaPercent, row.CpuWeight, row.TasksMax, row.IoWeight, row.CreatedAt, row.UpdatedAt, Base = (long)first,
            row.CpuModel, row.CopiedFrom,
        }, tx);
        if (uid is null) return false;
        if (uid.Value >= first + (long)GuestUidSlotSize) throw new GuestUidsExhaustedException(first, first + GuestUidSlotSize - 1);
        tx.Commit();
        row.GuestUid = (uint)uid.Value;
        return true;
    }

    /// <summary>
    /// Records a state change (with its reason and the QEMU pid, if any) in one transaction. Leaving
    /// Running/Paused returns the workspace's address to its network's pool in the same transaction:
    /// an address belongs to a running guest, so the lease and the state can never disagree.
    /// </summary>
    public void SetState(string id, string state, string? reason, int? pid, string? accelerator)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        c.Execute("""
            UPDATE workspaces SET state = @state, reason = @reason, pid = @pid, accelerator = @accelerator, updated_at = @now
            WHERE id = @id
            """, new { id, state, reason, pid, accelerator, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, tx);
        if (state is not ("Running" or "Paused"))
            c.Execute("UPDATE nics SET address = NULL WHERE workspace_id = @id", new { id }, tx);
        tx.Commit();
    }

    /// <summary>Records a renegotiated shape and resource controls in one statement.</summary>
    public void SetResources(WorkspaceRow row)
    {
        using var c = db.Open();
        c.Execute("""
            UPDATE workspaces SET vcpus = @Vcpus, memory_mib = @MemoryMib, cpu_quota_percent = @CpuQuotaPercent,
                cpu_weight = @CpuWeight, tasks_max = @TasksMax, io_weight = @IoWeight, updated_at = @UpdatedAt
            WHERE id = @Id
            """, row);
    }

    /// <summary>After a checkin the workspace continues from the image it became.</summary>
    public void SetImage(string id, string imageId)
    {
        using var c = db.Open();
        c.Execute("UPDATE workspaces SET image_id = @imageId, updated_at = @now WHERE id = @id",
            new { id, imageId, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
    }

    /// <summary>vCPUs and memory held by running or paused workspaces, except one (the one asking).</summary>
    public CommittedResources Committed(string? exceptId)
    {
        using var c = db.Open();
        return c.QuerySingle<CommittedResources>("""
            SELECT COALESCE(SUM(vcpus), 0) AS vcpus, COALESCE(SUM(memory_mib), 0) AS memory_mib FROM workspaces
            WHERE state IN ('Running', 'Paused') AND id IS NOT @exceptId
            """, new { exceptId });
    }

    public void Delete(string id) => db.Freeing(() =>
    {
        using var c = db.Open();
        c.Execute("DELETE FROM workspaces WHERE id = @id", new { id });
    });

    public int Count()
    {
        using var c = db.Open();
        return c.ExecuteScalar<int>("SELECT COUNT(*) FROM workspaces");
    }
}
