using System.Runtime.InteropServices;

namespace Workspaces.Native;

/// <summary>Owns one struct nft_ctx; freed exactly once.</summary>
internal sealed class NftContextHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        Nftables.FreeContext(handle);
        return true;
    }
}
