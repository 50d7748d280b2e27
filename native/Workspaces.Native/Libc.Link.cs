using System.Runtime.InteropServices;

namespace Workspaces.Native;

public static partial class Libc
{
    private const int EEXIST = 17;

    [LibraryImport(Libraries.Libc, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkPath(string existing, string created);

    /// <summary>
    /// A second name for a file (link(2)): both names are the same inode, so the data is never copied
    /// and stays reachable while either name exists. False if the new name is taken already.
    /// </summary>
    public static bool HardLink(string existing, string created)
    {
        if (LinkPath(existing, created) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return false;
        throw new NativeException($"link({existing}, {created})", errno);
    }
}
