namespace Workspaces.Daemon.State;

/// <summary>One migration as one side recorded it (see the migrations table).</summary>
public sealed record MigrationRow(
    string TicketHash, string Nonce, string Role, string WorkspaceId, string Name, string Peer, string Mode,
    string Phase, string? Outcome, string? Detail, long StartedAt, long UpdatedAt, bool Copy = false);
