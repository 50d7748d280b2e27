using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>Saved states: recorded together with the workspace's state 'Saved', forgotten once restored or discarded.</summary>
public sealed class SavedStateRepository(Database db)
{
    public SavedStateRow? Find(string workspaceId)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<SavedStateRow>("SELECT * FROM saved_states WHERE workspace_id = @workspaceId", new { workspaceId });
    }

    /// <summary>The saved state and the workspace's state 'Saved' (no pid, no address), in one transaction.</summary>
    public void Record(SavedStateRow saved, string reason)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        c.Execute("""
            INSERT OR REPLACE INTO saved_states (workspace_id, sha256, size, format, address, memory_mib, vcpus, saved_at)
            VALUES (@WorkspaceId, @Sha256, @Size, @Format, @Address, @MemoryMib, @Vcpus, @SavedAt)
            """, saved, tx);
        c.Execute("""
            UPDATE workspaces SET state = 'Saved', reason = @reason, pid = NULL, updated_at = @SavedAt WHERE id = @WorkspaceId
            """, new { saved.WorkspaceId, reason, saved.SavedAt }, tx);
        c.Execute("UPDATE nics SET address = NULL WHERE workspace_id = @WorkspaceId", new { saved.WorkspaceId }, tx);
        tx.Commit();
    }

    public void Forget(string workspaceId)
    {
        using var c = db.Open();
        c.Execute("DELETE FROM saved_states WHERE workspace_id = @workspaceId", new { workspaceId });
    }
}
