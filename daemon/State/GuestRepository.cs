using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>workspace_guests and workspace_secrets: what each guest is given at first boot, sealed where it is secret.</summary>
public sealed class GuestRepository(Database db)
{
    public GuestRow? Find(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<GuestRow>("SELECT * FROM workspace_guests WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    /// <summary>The guest's row and its secrets in one transaction (a create or a copy).</summary>
    public void Insert(GuestRow guest, IReadOnlyList<SecretRow> secrets)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        c.Execute("""
            INSERT INTO workspace_guests (workspace_id, user_data, ssh_keys, public_key, sealed_key, identity, delivered_at)
            VALUES (@WorkspaceId, @UserData, @SshKeys, @PublicKey, @SealedKey, @Identity, @DeliveredAt)
            """, guest, tx);
        foreach (var secret in secrets)
            c.Execute("INSERT INTO workspace_secrets (workspace_id, name, sealed) VALUES (@WorkspaceId, @Name, @Sealed)", secret, tx);
        tx.Commit();
    }

    public IReadOnlyList<SecretRow> Secrets(string workspaceId)
    {
        using var c = db.Open();
        return c.Query<SecretRow>("SELECT * FROM workspace_secrets WHERE workspace_id = @workspaceId ORDER BY name", new { workspaceId }).AsList();
    }

    /// <summary>The guest confirmed its first boot: its one-time files are no longer put on its seed.</summary>
    public void MarkDelivered(string workspaceId, long at)
    {
        using var c = db.Open();
        c.Execute("UPDATE workspace_guests SET delivered_at = @at WHERE workspace_id = @workspaceId AND delivered_at IS NULL", new { workspaceId, at });
    }
}
