using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// Removable media (the seed's cdrom).
public sealed partial class QmpClient
{
    /// <summary>
    /// blockdev-change-medium: opens the tray, swaps in the file read-only as raw, closes the tray.
    /// A guest that has locked the tray (a mounted cdrom) refuses; the caller decides what that means.
    /// </summary>
    public Task ChangeMediumAsync(string device, string path, CancellationToken ct) =>
        ExecuteAsync("blockdev-change-medium", new JsonObject
        {
            ["id"] = device,
            ["filename"] = path,
            ["format"] = "raw",
            ["read-only-mode"] = "read-only",
        }, ct);
}
