using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Native;

/// <summary>
/// Taps through /dev/net/tun: the daemon (which has CAP_NET_ADMIN) makes a guest's tap and hands the
/// open descriptor to QEMU (which has no capability and cannot open /dev/net/tun at all). The tap is
/// not persistent: it goes when the last descriptor on it closes, that is, with QEMU.
/// </summary>
public static partial class Tun
{
    private const uint TUNSETIFF = 0x400454ca;
    private const short IFF_TAP = 0x0002, IFF_NO_PI = 0x1000, IFF_VNET_HDR = 0x4000;
    private const int O_RDWR = 2, O_CLOEXEC = 0x80000;
    private const int IFNAMSIZ = 16;

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IfReq
    {
        public fixed byte Name[IFNAMSIZ];
        public short Flags;
        private fixed byte _rest[22]; // the rest of the ifreq union (struct ifreq is 40 bytes)
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle Open(string path, int flags);

    [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int Ioctl(SafeFileHandle fd, nuint request, void* argument);

    /// <summary>Creates the tap NAME (the kernel's, with virtio-net headers) and returns its descriptor.</summary>
    public static SafeFileHandle OpenTap(string name)
    {
        if (name.Length is 0 or >= IFNAMSIZ || !name.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException($"'{name}' is not a tap name this daemon makes", nameof(name));
        var fd = Open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd.IsInvalid) throw NativeException.FromLastError("open(/dev/net/tun)");
        var request = new IfReq { Flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
        int rc;
        unsafe
        {
            // SAFETY: the name was checked to be shorter than IFNAMSIZ and ASCII, so it fits with its
            // terminating zero (the struct starts zeroed); the kernel reads and writes at most
            // sizeof(struct ifreq) = 40 bytes, which is this struct's size.
            for (int i = 0; i < name.Length; i++) request.Name[i] = (byte)name[i];
            rc = Ioctl(fd, TUNSETIFF, &request);
        }
        if (rc != 0)
        {
            var error = NativeException.FromLastError($"ioctl(TUNSETIFF, {name})");
            fd.Dispose();
            throw error;
        }
        return fd;
    }
}
