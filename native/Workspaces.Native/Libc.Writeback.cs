using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Native;

// sync_file_range(2): start writing a range of a file back to disk now, without waiting, so the
// fsync that makes a large copy durable at its end finds little left to do.
public static partial class Libc
{
    private const uint SYNC_FILE_RANGE_WRITE = 2;

    [LibraryImport(Libraries.Libc, EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);

    /// <summary>Queues writeback of [offset, offset+length); a hint, so a filesystem that refuses it is not an error.</summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long length) =>
        _ = SyncFileRange(file, offset, length, SYNC_FILE_RANGE_WRITE);
}
