using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Workspaces.Native;

/// <summary>The few libc calls the daemon needs that .NET does not expose.</summary>
public static partial class Libc
{
    private const int SOL_SOCKET = 1;
    private const int SO_PEERCRED = 17;
    private const int ESRCH = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(SafeSocketHandle socket, int level, int name, void* value, ref uint length);

    [LibraryImport(Libraries.Libc, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport(Libraries.Libc, EntryPoint = "getgrnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetGrNam(string name);

    [LibraryImport(Libraries.Libc, EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>SO_PEERCRED of a connected Unix socket.</summary>
    public static PeerCredentials GetPeerCredentials(Socket socket)
    {
        UCred cred;
        uint length = (uint)Marshal.SizeOf<UCred>();
        int rc;
        unsafe
        {
            // SAFETY: cred lives on this stack frame for the whole call and length says its size,
            // so the kernel writes at most sizeof(struct ucred) bytes into it.
            rc = GetSockOpt(socket.SafeHandle, SOL_SOCKET, SO_PEERCRED, &cred, ref length);
        }
        if (rc != 0) throw NativeException.FromLastError("getsockopt(SO_PEERCRED)");
        return new PeerCredentials(cred.Pid, cred.Uid, cred.Gid);
    }

    /// <summary>chown(2); uint.MaxValue leaves that id unchanged, as in C.</summary>
    public static void ChangeOwner(string path, uint uid, uint gid)
    {
        if (Chown(path, uid, gid) != 0) throw NativeException.FromLastError($"chown({path})");
    }

    /// <summary>The gid of a group by name through NSS, or null when there is no such group.</summary>
    public static uint? GetGroupId(string name)
    {
        IntPtr group = GetGrNam(name);
        if (group == IntPtr.Zero) return null;
        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }:
        // gr_gid follows the two pointers. getgrnam's result is static storage valid until the next call.
        return (uint)Marshal.ReadInt32(group, 2 * IntPtr.Size);
    }

    /// <summary>Sends a signal; a process that is already gone is not an error.</summary>
    public static void SendSignal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0 && Marshal.GetLastPInvokeError() != ESRCH)
            throw NativeException.FromLastError($"kill({pid}, {signal})");
    }

    public const int SIGTERM = 15;
    public const int SIGKILL = 9;
}
