using Workspaces.Daemon.Core;
using Microsoft.Win32.SafeHandles;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Opens a file the caller holds open, through /proc/PID/fd/N (the caller's pid from SO_PEERCRED):
/// the daemon gets the very file the caller opened, so it can never read what the caller could not.
/// </summary>
public static class CallerFiles
{
    public static SafeFileHandle Open(Caller caller, int fd, string what)
    {
        if (caller.Pid <= 0 || fd < 0) throw WorkspacesException.BadRequest($"the {what} descriptor {fd} cannot be resolved for this caller");
        // The daemon calling itself is a peer's request relayed to this socket (PeerProxy): its descriptors
        // would be the daemon's own files (the database, keys). PeerProxyPath refuses such imports first.
        if (caller.Pid == Environment.ProcessId || caller.Peer is not null)
            throw WorkspacesException.BadRequest($"the {what} descriptor {fd} names a file on another host: upload the file instead");
        string path = $"/proc/{caller.Pid}/fd/{fd}";
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            // The link names a path for files; a pipe or socket ("pipe:[…]") or a directory does not exist as a file.
            if (!new FileInfo(path).Exists)
            {
                handle.Dispose();
                throw WorkspacesException.BadRequest($"the {what} descriptor {fd} is not a regular file");
            }
            return handle;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WorkspacesException.BadRequest($"cannot open the {what} file through descriptor {fd} of pid {caller.Pid}: {e.Message}");
        }
    }
}
