namespace Workspaces.Client;

/// <summary>Moving a workspace to a peer (issue #13).</summary>
public sealed partial class WorkspacesClient
{
    /// <summary>Begins a move; the refusals of either host (ticket, trust, admission with its offer) come back as ApiException.</summary>
    public Task<PeerMigrationAccepted> MoveAsync(string name, MoveRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/move", request, Json.MoveRequest, Json.PeerMigrationAccepted, ct);

    /// <summary>Settles a half-done move of this workspace now (ws move --recover); the answer is this host's record of it.</summary>
    public Task<PeerMigrationState> RecoverMoveAsync(string name, MoveRecoverRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/move/recover", request, Json.MoveRecoverRequest, Json.PeerMigrationState, ct);
}
