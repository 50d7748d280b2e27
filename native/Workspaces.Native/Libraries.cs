namespace Workspaces.Native;

/// <summary>Names of the native libraries we bind to, in one place.</summary>
internal static class Libraries
{
    public const string Libc = "libc";
    public const string Nftables = "libnftables.so.1";
}
