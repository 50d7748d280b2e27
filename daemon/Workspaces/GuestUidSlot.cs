using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The one owner of this daemon's claim on its guest uids. Each database draws its own slot of a million
/// (schema step 8), yet two daemons on one host can still meet on one: by a 1-in-1999 draw, or as two
/// databases older than slots (both at 1900000000). Their guests would then share uids and could reach each
/// other's files and processes, so a daemon holds an exclusive lock named by its base for its whole life and
/// does not start while another live daemon holds it. The lock is flock(2) (a FileStream with FileShare.None):
/// the kernel drops it when the holder exits however it exits, so a crashed daemon leaves nothing to clean up.
/// </summary>
public sealed class GuestUidSlot(WorkspaceRepository workspaces, IOptions<WorkspacesOptions> options) : IDisposable
{
    private const int Ewouldblock = 11; // EAGAIN: flock(LOCK_NB) found the lock held
    private FileStream? _lock;

    /// <summary>
    /// Takes the lock, or says in one line which daemon holds it. Once, before anything touches the host.
    /// A database that has handed out no uid yet draws another slot instead of refusing (several fresh
    /// daemons on one host, as the tests run them, meet on a slot more often than 1 in 1999).
    /// </summary>
    public bool TryClaim([NotNullWhen(false)] out string? refusal)
    {
        refusal = null;
        if (!Environment.IsPrivilegedProcess) return true; // a daemon run by a user keeps its guests as that user: no uids of their own
        for (int draw = 0; !TryLock(out refusal); draw++)
            if (draw == 50 || !workspaces.TryRedrawGuestUidBase()) return false;
        return true;
    }

    private bool TryLock([NotNullWhen(false)] out string? refusal)
    {
        refusal = null;
        uint first = workspaces.GuestUidBase;
        string dir = options.Value.GuestUidLocks, lockPath = Path.Combine(dir, $"{first}.lock"), holderPath = Path.Combine(dir, $"{first}.holder");
        Directory.CreateDirectory(dir);
        try
        {
            _lock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult == Ewouldblock)
        {
            string? holder = Holder(holderPath);
            refusal = holder == options.Value.StateDir
                ? $"another workspacesd already runs on the state dir {holder} (it holds {lockPath}); this one does not start"
                : $"guest uids {first}-{first + WorkspaceRepository.GuestUidSlotSize - 1} are already handed out by the workspacesd of " +
                  $"{(holder is null ? "a state dir not yet recorded" : $"state dir {holder}")} (it holds {lockPath}); " +
                  $"guests of both would share uids, so this one ({options.Value.StateDir}) does not start";
            return false;
        }
        // Who holds it, for the refusal above: a file beside the lock, since .NET cannot read a file another
        // process holds with FileShare.None (its reads take a shared flock). Written whole, then renamed.
        string staging = holderPath + ".new";
        File.WriteAllText(staging, options.Value.StateDir + "\n");
        File.Move(staging, holderPath, overwrite: true);
        return true;
    }

    /// <summary>The holder's state dir; in the instant between its lock and its note, the note may be missing or a predecessor's.</summary>
    private static string? Holder(string holderPath)
    {
        try
        {
            return File.ReadAllText(holderPath).Trim();
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public void Dispose() => _lock?.Dispose();
}
