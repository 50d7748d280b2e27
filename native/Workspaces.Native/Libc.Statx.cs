using System.Runtime.InteropServices;

namespace Workspaces.Native;

// statx(2): a file's identity (device, inode, size, change times), which .NET's FileInfo does not
// give (no inode, no ctime). statx's struct has one layout on every architecture, unlike stat's.
public static partial class Libc
{
    private const int AT_FDCWD = -100;
    private const uint STATX_BASIC_STATS = 0x07ff;

    [StructLayout(LayoutKind.Sequential)]
    private struct StatxTimestamp
    {
        public long Seconds;
        public uint Nanoseconds;
        private int _reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct StatxBuffer
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint Links;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
        private ushort _pad;
        public ulong Inode;
        public ulong Size;
        public ulong Blocks;
        public ulong AttributesMask;
        public StatxTimestamp AccessTime;
        public StatxTimestamp BirthTime;
        public StatxTimestamp ChangeTime;
        public StatxTimestamp ModifyTime;
        public uint RdevMajor;
        public uint RdevMinor;
        public uint DevMajor;
        public uint DevMinor;
        private fixed ulong _spare[14];
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buffer);

    /// <summary>The identity of a file as the kernel sees it now; any write, truncate or replacement changes it.</summary>
    public static FileIdentity GetFileIdentity(string path)
    {
        StatxBuffer buffer;
        int rc;
        unsafe
        {
            // SAFETY: buffer is a stack local of exactly struct statx's size (256 bytes), which is
            // all the kernel writes; it lives until the call returns.
            rc = Statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &buffer);
        }
        if (rc != 0) throw NativeException.FromLastError($"statx({path})");
        return new FileIdentity(
            ((ulong)buffer.DevMajor << 32) | buffer.DevMinor,
            buffer.Inode,
            (long)buffer.Size,
            buffer.ModifyTime.Seconds * 1_000_000_000 + buffer.ModifyTime.Nanoseconds,
            buffer.ChangeTime.Seconds * 1_000_000_000 + buffer.ChangeTime.Nanoseconds);
    }
}

/// <summary>Device, inode, size and modification/change times (ns): equal identities mean unchanged bytes, short of a kernel bug or a raw device write.</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, long Size, long ModifiedNs, long ChangedNs);
