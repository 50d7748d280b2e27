using Workspaces.Daemon.Errors;
using Workspaces.Native;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// Each guest's QEMU runs as the workspace's own uid and gid and may touch only its own directory:
/// 0700 and the overlay 0600, both its own; the state dir and the image cache are 0711 (passable,
/// not listable) so it can reach its directory and open the blobs of its chain by path.
/// </summary>
public static class GuestFiles
{
    private static readonly UnixFileMode Passable = (UnixFileMode)Convert.ToInt32("711", 8);
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>At daemon start: the state dir is passable, and so is every directory above it, or guests could not start.</summary>
    public static void CheckReachable(string stateDir)
    {
        File.SetUnixFileMode(stateDir, Passable);
        for (var dir = Directory.GetParent(stateDir); dir is not null; dir = dir.Parent)
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
                throw new InvalidOperationException(
                    $"guests run as their own users and cannot pass {dir.FullName} (mode {Convert.ToString((int)dir.UnixFileMode, 8)}) to reach the state dir {stateDir}; give it o+x (chmod o+x) or move the state dir");
    }

    /// <summary>The workspaces directory itself, made if missing: passable, not listable.</summary>
    public static string Prepare(string root)
    {
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, Passable);
        return root;
    }

    /// <summary>One more file of the workspace's that its guest's QEMU opens (its seed, a data disk): 0600, the guest user's.</summary>
    public static void GiveFile(uint uid, string path)
    {
        if (!Environment.IsPrivilegedProcess) return;
        try
        {
            Libc.ChangeOwner(path, uid, uid);
            File.SetUnixFileMode(path, PrivateFile);
        }
        catch (NativeException e)
        {
            throw new WorkspacesException(503, "Service unavailable", $"cannot give {path} to its guest user {uid}: {e.Message}");
        }
    }

    /// <summary>Before each start: the workspace's directory and disk belong to its guest, and to no one else.</summary>
    public static void GiveTo(uint uid, string dir, string? overlay)
    {
        if (!Environment.IsPrivilegedProcess) return; // a daemon run by a user keeps its guests as that user
        try
        {
            Libc.ChangeOwner(dir, uid, uid);
            File.SetUnixFileMode(dir, Private);
            if (overlay is not null && File.Exists(overlay)) GiveFile(uid, overlay);
        }
        catch (NativeException e)
        {
            throw new WorkspacesException(503, "Service unavailable", $"cannot give the workspace's files to its guest user {uid}: {e.Message}");
        }
    }
}
