using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Workspaces.Native;

public static partial class Libc
{
    private const int SCM_RIGHTS = 1;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct cmsghdr carrying one int, padded to CMSG_SPACE(sizeof(int)) on LP64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct RightsMessage
    {
        public nuint Length;
        public int Level;
        public int Type;
        public int Descriptor;
        private int _padding;
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
    private static unsafe partial nint SendMsg(SafeSocketHandle socket, MsgHdr* message, int flags);

    /// <summary>
    /// Sends data on a connected Unix socket with an open descriptor attached (SCM_RIGHTS), as QMP's
    /// getfd expects: the peer receives its own copy of the descriptor with the message.
    /// </summary>
    public static void SendWithDescriptor(Socket socket, ReadOnlySpan<byte> data, SafeHandle descriptor)
    {
        bool added = false;
        descriptor.DangerousAddRef(ref added);
        try
        {
            unsafe
            {
                fixed (byte* bytes = data)
                {
                    // SAFETY: every pointer handed to sendmsg points into this frame (the iovec, the control
                    // message) or into `data`, pinned by `fixed`, for the whole call; the lengths given are
                    // those of the structures. cmsg_len is CMSG_LEN(sizeof(int)) = 16 + 4 on LP64.
                    var iov = new IoVec { Base = bytes, Length = (nuint)data.Length };
                    var rights = new RightsMessage { Length = 20, Level = SOL_SOCKET, Type = SCM_RIGHTS, Descriptor = (int)descriptor.DangerousGetHandle() };
                    var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = &rights, ControlLength = (nuint)sizeof(RightsMessage) };
                    nint sent = SendMsg(socket.SafeHandle, &message, 0);
                    if (sent < 0) throw NativeException.FromLastError("sendmsg(SCM_RIGHTS)");
                    if (sent != data.Length) throw new IOException($"sendmsg sent {sent} of {data.Length} bytes");
                }
            }
        }
        finally
        {
            if (added) descriptor.DangerousRelease();
        }
    }
}
