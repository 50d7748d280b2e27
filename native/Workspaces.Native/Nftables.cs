using System.Runtime.InteropServices;

namespace Workspaces.Native;

/// <summary>
/// libnftables, the library behind nft: one context per caller, JSON in and out. A JSON command
/// list given to RunJson runs as one kernel transaction: all of it applies, or none.
/// </summary>
public sealed partial class Nftables : IDisposable
{
    private const uint NFT_CTX_DEFAULT = 0;
    private const uint NFT_CTX_OUTPUT_HANDLE = 1 << 3;
    private const uint NFT_CTX_OUTPUT_JSON = 1 << 4;

    private readonly NftContextHandle _context;
    private readonly Lock _gate = new(); // a context is not thread-safe

    /// <param name="json">JSON in and out (the default); false: nft's own text, as `nft list` prints it.</param>
    public Nftables(bool json = true)
    {
        _context = NewContext(NFT_CTX_DEFAULT);
        if (_context.IsInvalid) throw new NativeException("nft_ctx_new", Marshal.GetLastPInvokeError());
        if (json) SetOutputFlags(_context, NFT_CTX_OUTPUT_JSON);
        // Output and errors into buffers we read, rather than to the daemon's stdout and stderr.
        if (BufferOutput(_context) != 0 || BufferError(_context) != 0)
            throw new InvalidOperationException("libnftables could not buffer its output");
    }

    /// <summary>Runs a JSON command list (or "list ..." text) and returns the output; a refusal throws with nft's message.</summary>
    public string Run(string commands)
    {
        lock (_gate)
        {
            int rc = RunFromBuffer(_context, commands);
            string output = Marshal.PtrToStringUTF8(GetOutputBuffer(_context)) ?? "";
            string error = Marshal.PtrToStringUTF8(GetErrorBuffer(_context)) ?? "";
            if (rc != 0) throw new NftablesException(error.Trim().Length > 0 ? error.Trim() : $"nft_run_cmd_from_buffer returned {rc}");
            return output;
        }
    }

    public void Dispose() => _context.Dispose();

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_new", SetLastError = true)]
    private static partial NftContextHandle NewContext(uint flags);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_free")]
    internal static partial void FreeContext(IntPtr context);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_output_set_flags")]
    private static partial void SetOutputFlags(NftContextHandle context, uint flags);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_buffer_output")]
    private static partial int BufferOutput(NftContextHandle context);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_buffer_error")]
    private static partial int BufferError(NftContextHandle context);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_get_output_buffer")]
    private static partial IntPtr GetOutputBuffer(NftContextHandle context);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_get_error_buffer")]
    private static partial IntPtr GetErrorBuffer(NftContextHandle context);

    [LibraryImport(Libraries.Nftables, EntryPoint = "nft_run_cmd_from_buffer", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RunFromBuffer(NftContextHandle context, string buffer);
}
