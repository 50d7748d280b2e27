using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>Networks, NICs and port forwards: everything the traffic policy is derived from.</summary>
public sealed class NetworkRepository(Database db)
{
    private const string SelectNics = """
        SELECT n.workspace_id, n.network, n.mac, n.address, n.tap, n.egress, n.rate_kbit, w.name AS workspace_name, w.owner
        FROM nics n JOIN workspaces w ON w.id = n.workspace_id
        """;

    public IReadOnlyList<NetworkRow> List()
    {
        using var c = db.Open();
        return c.Query<NetworkRow>("SELECT * FROM networks ORDER BY name").AsList();
    }

    public NetworkRow? Find(string name)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<NetworkRow>("SELECT * FROM networks WHERE name = @name", new { name });
    }

    /// <summary>False when the name, bridge or subnet is taken.</summary>
    public bool TryInsert(NetworkRow network)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        if (c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM networks WHERE subnet = @Subnet OR name = @Name OR bridge = @Bridge OR vni = @Vni)", network, tx))
            return false;
        c.Execute("""
            INSERT INTO networks (name, bridge, subnet, gateway, nat, isolated, isolate_owners, egress, created_at, vni, span, mtu, slice_from, slice_to)
            VALUES (@Name, @Bridge, @Subnet, @Gateway, @Nat, @Isolated, @IsolateOwners, @Egress, @CreatedAt, @Vni, @Span, @Mtu, @SliceFrom, @SliceTo)
            """, network, tx);
        tx.Commit();
        return true;
    }

    /// <summary>A spanning network now reaches these peers (comma-separated, as Span) with this host's share of its addresses: a host joined it later.</summary>
    public void SetSpan(string name, string span, long? sliceFrom, long? sliceTo)
    {
        using var c = db.Open();
        c.Execute("UPDATE networks SET span = @span, slice_from = @sliceFrom, slice_to = @sliceTo WHERE name = @name", new { name, span, sliceFrom, sliceTo });
    }

    /// <summary>Deletes the network unless a NIC is on it; returns the workspaces that are.</summary>
    public IReadOnlyList<string> DeleteUnlessUsed(string name)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var users = c.Query<string>("SELECT w.name FROM nics n JOIN workspaces w ON w.id = n.workspace_id WHERE n.network = @name ORDER BY 1",
            new { name }, tx).AsList();
        if (users.Count == 0)
        {
            c.Execute("DELETE FROM networks WHERE name = @name", new { name }, tx);
            tx.Commit();
        }
        return users;
    }

    public IReadOnlyList<NicRow> Nics(string? network = null)
    {
        using var c = db.Open();
        return network is null
            ? c.Query<NicRow>($"{SelectNics} ORDER BY w.name").AsList()
            : c.Query<NicRow>($"{SelectNics} WHERE n.network = @network ORDER BY w.name", new { network }).AsList();
    }

    /// <summary>
    /// The NICs that hold an address now (their workspaces run): all DHCP answers and all the policy
    /// allows. A defined or stopped workspace's NIC is only its MAC.
    /// </summary>
    public IReadOnlyList<NicRow> Leased(string? network = null)
    {
        using var c = db.Open();
        return network is null
            ? c.Query<NicRow>($"{SelectNics} WHERE n.address IS NOT NULL ORDER BY w.name").AsList()
            : c.Query<NicRow>($"{SelectNics} WHERE n.network = @network AND n.address IS NOT NULL ORDER BY w.name", new { network }).AsList();
    }

    public NicRow? NicOf(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<NicRow>($"{SelectNics} WHERE n.workspace_id = @workspaceId", new { workspaceId });
    }

    public IReadOnlyList<string> AddressesIn(string network)
    {
        using var c = db.Open();
        return c.Query<string>("SELECT address FROM nics WHERE network = @network AND address IS NOT NULL", new { network }).AsList();
    }

    /// <summary>Records a NIC (its MAC; no address until it starts); false when its MAC or tap was taken meanwhile.</summary>
    public bool TryInsertNic(NicRow nic)
    {
        using var c = db.Open();
        return c.Execute("""
            INSERT INTO nics (workspace_id, network, mac, address, tap, egress, rate_kbit)
            VALUES (@WorkspaceId, @Network, @Mac, @Address, @Tap, @Egress, @RateKbit)
            ON CONFLICT DO NOTHING
            """, nic) == 1;
    }

    /// <summary>
    /// Leases an address to a NIC that has none; false when another NIC took that address meanwhile
    /// (UNIQUE (network, address) decides races; OR IGNORE turns the violation into no change).
    /// </summary>
    public bool TryLease(string workspaceId, string address)
    {
        using var c = db.Open();
        return c.Execute("UPDATE OR IGNORE nics SET address = @address WHERE workspace_id = @workspaceId AND address IS NULL",
            new { workspaceId, address }) == 1;
    }

    /// <summary>Gives a NIC's address back to the pool (a start that failed before it was recorded).</summary>
    public void ReturnLease(string workspaceId)
    {
        using var c = db.Open();
        c.Execute("UPDATE nics SET address = NULL WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    /// <summary>
    /// At daemon start: addresses held by workspaces that are not running or paused (a daemon that
    /// died between a lease and the start it was for) go back to the pool. Returns how many.
    /// </summary>
    public int ReturnStaleLeases()
    {
        using var c = db.Open();
        return c.Execute("""
            UPDATE nics SET address = NULL
            WHERE address IS NOT NULL AND workspace_id IN (SELECT id FROM workspaces WHERE state NOT IN ('Running', 'Paused'))
            """);
    }

    public void DeleteNic(string workspaceId) => db.Freeing(() =>
    {
        using var c = db.Open();
        c.Execute("DELETE FROM nics WHERE workspace_id = @workspaceId", new { workspaceId });
    });

    public IReadOnlyList<PortForwardRow> Forwards(string? workspaceId = null)
    {
        using var c = db.Open();
        return workspaceId is null
            ? c.Query<PortForwardRow>("SELECT * FROM port_forwards ORDER BY protocol, host_port").AsList()
            : c.Query<PortForwardRow>("SELECT * FROM port_forwards WHERE workspace_id = @workspaceId ORDER BY protocol, host_port", new { workspaceId }).AsList();
    }

    /// <summary>False when the host port is already forwarded.</summary>
    public bool TryAddForward(PortForwardRow forward)
    {
        using var c = db.Open();
        return c.Execute("""
            INSERT INTO port_forwards (workspace_id, protocol, host_port, guest_port) VALUES (@WorkspaceId, @Protocol, @HostPort, @GuestPort)
            ON CONFLICT DO NOTHING
            """, forward) == 1;
    }
}
