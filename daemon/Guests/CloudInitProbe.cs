using Workspaces.Daemon.Hypervisor.Qemu;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// Asks a guest, through its agent (guest-file-open/read of /run/cloud-init/result.json), whether
/// cloud-init has finished and how. After a finished boot the guest has read its seed and written
/// its files (write_files runs in an earlier stage), so the seed's one-time files can go.
/// </summary>
public static class CloudInitProbe
{
    private const int MaxResult = 1 << 20;

    /// <summary>The result, or null while cloud-init is still running (no result yet).</summary>
    /// <exception cref="GuestAgentUnavailableException">no agent answered in time</exception>
    public static async Task<CloudInitResult?> ResultAsync(GuestAgent agent, TimeSpan timeout, CancellationToken ct)
    {
        long handle;
        try
        {
            handle = await agent.FileOpenAsync(CloudInitResult.GuestPath, "r", ct, timeout);
        }
        catch (GuestAgentException)
        {
            return null; // no such file yet
        }
        try
        {
            var content = new MemoryStream();
            while (true)
            {
                var chunk = await agent.FileReadAsync(handle, 65536, ct, timeout);
                content.Write(chunk.Data);
                if (content.Length > MaxResult) throw new IOException($"{CloudInitResult.GuestPath} in the guest is larger than {MaxResult} bytes");
                if (chunk.Eof || chunk.Data.Length == 0) break;
            }
            return CloudInitResult.Parse(content.ToArray());
        }
        finally
        {
            await agent.FileCloseAsync(handle, ct, timeout);
        }
    }
}
