using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Native;

// O_DIRECT: writes go from our buffer to the disk without passing through the page cache. For a
// large copy that is read once and kept, caching it only costs: on these machines a buffered 1 GiB
// write with fsync took 3.5-5 s, a direct one about 1 s. Buffers, offsets and lengths must be
// multiples of the device's block size.
public static partial class Libc
{
    private const int O_WRONLY = 0x1, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000, EINVAL = 22;

    /// <summary>The block size direct I/O buffers and lengths are aligned to (4 KiB covers every common device).</summary>
    public const int DirectAlignment = 4096;

    private static int O_DIRECT => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    [LibraryImport(Libraries.Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle Open(string path, int flags, uint mode);

    /// <summary>Creates a new file for direct writes, or returns null when the filesystem does not do direct I/O (tmpfs).</summary>
    public static SafeFileHandle? CreateDirect(string path, UnixFileMode mode)
    {
        var handle = Open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, (uint)mode);
        if (!handle.IsInvalid) return handle;
        int errno = Marshal.GetLastPInvokeError();
        handle.Dispose();
        if (errno == EINVAL)
        {
            File.Delete(path); // open may have created it before refusing O_DIRECT
            return null;
        }
        throw NativeException.FromLastError($"open({path}, O_DIRECT)");
    }

    /// <summary>A buffer for direct I/O: pinned (the GC never moves it) and starting on a block boundary.</summary>
    public static Memory<byte> AllocateDirectBuffer(int size)
    {
        byte[] array = GC.AllocateArray<byte>(size + DirectAlignment, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(array, 0);
        int skip = (int)((DirectAlignment - address % DirectAlignment) % DirectAlignment);
        return array.AsMemory(skip, size);
    }
}
