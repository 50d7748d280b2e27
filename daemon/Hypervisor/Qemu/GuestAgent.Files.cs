using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// guest-file-open/read/write/close: files in the guest through handles the agent keeps open.
public sealed partial class GuestAgent
{
    /// <summary>Largest read qemu-ga 7.2 allows in one guest-file-read (its limit is 48 MiB; we ask far less).</summary>
    public const int MaxReadCount = 48 << 20;

    /// <summary>guest-file-open: a handle on PATH opened with an fopen() mode ("r", "w", "a", "r+", ...).</summary>
    public async Task<long> FileOpenAsync(string path, string mode, CancellationToken ct, TimeSpan? timeout = null) =>
        (await ExecuteAsync("guest-file-open", new JsonObject { ["path"] = path, ["mode"] = mode }, timeout ?? DefaultTimeout, ct)).GetInt64();

    /// <summary>guest-file-read: up to count bytes from the handle's position; Eof once the end is reached.</summary>
    public async Task<GuestFileChunk> FileReadAsync(long handle, int count, CancellationToken ct, TimeSpan? timeout = null)
    {
        if (count is <= 0 or > MaxReadCount) throw new ArgumentOutOfRangeException(nameof(count), $"1..{MaxReadCount}");
        var r = await ExecuteAsync("guest-file-read", new JsonObject { ["handle"] = handle, ["count"] = count }, timeout ?? DefaultTimeout, ct);
        return new GuestFileChunk(Bytes(r, "buf-b64"), r.GetProperty("eof").GetBoolean());
    }

    /// <summary>guest-file-write: writes the bytes at the handle's position; returns how many the guest took.</summary>
    public async Task<int> FileWriteAsync(long handle, ReadOnlyMemory<byte> data, CancellationToken ct, TimeSpan? timeout = null)
    {
        var r = await ExecuteAsync("guest-file-write",
            new JsonObject { ["handle"] = handle, ["buf-b64"] = Convert.ToBase64String(data.Span) }, timeout ?? DefaultTimeout, ct);
        return r.GetProperty("count").GetInt32();
    }

    /// <summary>guest-file-seek: moves the handle's position (whence "set", "cur" or "end"); returns the new position. It also clears the end-of-file mark, so later reads see what was appended since.</summary>
    public async Task<long> FileSeekAsync(long handle, long offset, string whence, CancellationToken ct, TimeSpan? timeout = null) =>
        (await ExecuteAsync("guest-file-seek", new JsonObject { ["handle"] = handle, ["offset"] = offset, ["whence"] = whence },
            timeout ?? DefaultTimeout, ct)).GetProperty("position").GetInt64();

    /// <summary>guest-file-close: closes the handle (the agent flushes what was written).</summary>
    public Task FileCloseAsync(long handle, CancellationToken ct, TimeSpan? timeout = null) =>
        ExecuteAsync("guest-file-close", new JsonObject { ["handle"] = handle }, timeout ?? DefaultTimeout, ct);
}
