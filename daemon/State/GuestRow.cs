namespace Workspaces.Daemon.State;

/// <summary>One row of workspace_guests: what a workspace's guest is given at first boot (see migration 13).</summary>
public sealed class GuestRow
{
    public string WorkspaceId { get; set; } = "";
    public string? UserData { get; set; }
    public string SshKeys { get; set; } = "";
    public string PublicKey { get; set; } = "";
    /// <summary>Hex of the sealed PEM private key.</summary>
    public string SealedKey { get; set; } = "";
    public string Identity { get; set; } = "";
    public long? DeliveredAt { get; set; }
}
