namespace Workspaces.Daemon.Guests;

/// <summary>
/// Asks a guest, through its agent, whether cloud-init has finished and how. The only question
/// the seed's lifecycle needs answered: after a done boot the guest has read its seed and written
/// its files (write_files runs in an earlier stage), so the seed's one-time files can go.
/// </summary>
public static class CloudInitProbe
{
    /// <summary>The result, or null while cloud-init is still running (or never ran: no result yet).</summary>
    public static async Task<CloudInitResult?> ResultAsync(string agentSocket, TimeSpan timeout, CancellationToken ct)
    {
        var bytes = await AgentFileReader.ReadAsync(agentSocket, CloudInitResult.GuestPath, 1 << 20, timeout, ct);
        return bytes is null ? null : CloudInitResult.Parse(bytes);
    }
}
