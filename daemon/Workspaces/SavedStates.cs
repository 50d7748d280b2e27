using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A workspace's saved RAM and device state: QEMU migrates it into a pipe (fd:), the daemon's zstd writes it
/// into the workspace's directory as a .tmp (root's, read-only to the guest's group), made durable and renamed
/// into place, then hashed; the hash, size and
/// format go to SQLite. The file itself has no header of its own: it is a zstd frame (magic and
/// content checksum) around QEMU's migration stream (magic "QEVM" and its version), fed as it is to
/// QEMU's migrate-incoming; the hash that binds it to this workspace and this save is kept where the
/// guest's user cannot write, in SQLite. Before a restore it is re-hashed and refused on any mismatch.
/// </summary>
public sealed class SavedStates(SavedStateRepository saved, WorkspaceLayout layout)
{
    /// <summary>QEMU's migration stream (of this QEMU's machine type) in one zstd frame.</summary>
    public const string Format = "qemu-migration+zstd/1";

    public SavedStateRow? Find(string workspaceId) => saved.Find(workspaceId);

    /// <summary>Saves the paused guest's state to a new file in its directory and returns its durable, hashed record (not yet recorded).</summary>
    public async Task<SavedStateRow> SaveAsync(WorkspaceRow row, IGuest guest, string path, string? address, CancellationToken ct)
    {
        string temporary = path + ".tmp";
        File.Delete(temporary);
        try
        {
            await guest.SaveStateAsync(temporary, ct);
            TakeOver(temporary, row.GuestUid);
            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
                file.Flush(flushToDisk: true); // durable before its name says it is complete
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
        var (sha256, size) = await BlobHasher.HashAsync(path, ct);
        return new SavedStateRow
        {
            WorkspaceId = row.Id, Sha256 = sha256, Size = size, Format = Format, Address = address,
            MemoryMib = (int)(await guest.BootMemoryAsync(ct) >> 20), Vcpus = row.Vcpus,
            SavedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
    }

    public void Record(SavedStateRow state, string reason) => saved.Record(state, reason);

    /// <summary>The saved state's file, checked against its recorded hash; a missing, changed or damaged file is refused (409).</summary>
    public async Task<string> VerifyAsync(WorkspaceRow row, SavedStateRow state, CancellationToken ct)
    {
        string path = layout.SavedState(row.Id);
        if (!File.Exists(path))
            throw WorkspacesException.Conflict($"the saved state of workspace '{row.Name}' is missing ({path}); start it afresh with --discard-state");
        if (state.Format != Format)
            throw WorkspacesException.Conflict($"the saved state of workspace '{row.Name}' is in format {state.Format}, which this daemon cannot restore; start it afresh with --discard-state");
        var (sha256, size) = await BlobHasher.HashAsync(path, ct);
        if (sha256 != state.Sha256 || size != state.Size)
            throw WorkspacesException.Conflict(
                $"the saved state of workspace '{row.Name}' does not match what was saved (sha256 {sha256[..12]}…, {size} bytes; recorded {state.Sha256[..12]}…, {state.Size} bytes): "
                + "it was changed or damaged, and is not restored; start it afresh with --discard-state (its disk is kept, its RAM is lost)");
        return path;
    }

    /// <summary>Once the guest runs from it (or it is discarded): the file and its record go.</summary>
    public void Forget(string workspaceId)
    {
        File.Delete(layout.SavedState(workspaceId));
        saved.Forget(workspaceId);
    }

    /// <summary>Root's, readable by the guest's group (for a person debugging as it); the guest's user can only replace it in its directory, which the hash catches.</summary>
    private static void TakeOver(string path, uint guestGid)
    {
        if (!Environment.IsPrivilegedProcess) return; // a daemon run by a user keeps its guests as that user
        Libc.ChangeOwner(path, 0, guestGid);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
    }
}
