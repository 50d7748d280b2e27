namespace Workspaces.Native;

/// <summary>Names of the native libraries we bind to, in one place.</summary>
internal static class Libraries
{
    public const string Libc = "libc";
    public const string Nftables = "libnftables.so.1";

    // The name NSec.Cryptography binds to, so both resolve the one copy its "libsodium" package ships:
    // under the JIT from the runtimes/ path in the app's deps.json, under Native AOT as libsodium.so
    // beside the binary (publish copies it there; it is loaded with dlopen, not linked statically).
    public const string Sodium = "libsodium";
}
