namespace Workspaces.Daemon.Images;

/// <summary>Recognises kernels and initramfs files by their magic numbers, so that any other file is refused.</summary>
public static class BootArtifacts
{
    /// <summary>A Linux x86 bzImage carries "HdrS" at 0x202 (the boot protocol header).</summary>
    public static bool IsKernel(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length < 0x206) return false;
        Span<byte> magic = stackalloc byte[4];
        file.Position = 0x202;
        file.ReadExactly(magic);
        return magic.SequenceEqual("HdrS"u8);
    }

    /// <summary>An initramfs is a newc cpio archive, raw or compressed with one of the kernel's decompressors.</summary>
    public static bool IsInitrd(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[6];
        if (file.Read(head) < 6) return false;
        return head.StartsWith("070701"u8) || head.StartsWith("070702"u8) // cpio newc / crc
               || head.StartsWith(new byte[] { 0x1f, 0x8b })               // gzip
               || head.StartsWith(new byte[] { 0xfd, 0x37, 0x7a, 0x58, 0x5a }) // xz
               || head.StartsWith(new byte[] { 0x28, 0xb5, 0x2f, 0xfd })   // zstd
               || head.StartsWith(new byte[] { 0x02, 0x21, 0x4c, 0x18 })   // lz4 legacy
               || head.StartsWith(new byte[] { 0x42, 0x5a, 0x68 })         // bzip2
               || head.StartsWith(new byte[] { 0x5d, 0x00, 0x00 });        // lzma
    }
}
