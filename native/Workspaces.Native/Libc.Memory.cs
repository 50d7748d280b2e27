using System.Runtime.InteropServices;

namespace Workspaces.Native;

public static partial class Libc
{
    /// <summary>
    /// malloc_trim(3): gives the C heap's free pages back to the kernel. glibc keeps memory that native
    /// code (SQLite, OpenSSL) freed in its arenas otherwise, so a burst's peak would stay as RSS.
    /// </summary>
    public static void TrimNativeHeap() => malloc_trim(0);

    [LibraryImport(Libraries.Libc)]
    private static partial int malloc_trim(nuint pad);
}
