namespace Workspaces.Client;

/// <summary>POST /v1/peer/migrations (peer API): a source offers a signed migration ticket to this host (Prepare).</summary>
public sealed record PeerMigrationOffer(string Ticket);

/// <summary>The destination admitted the ticket: its hash, which both sides record with the outcome.</summary>
public sealed record PeerMigrationAccepted(string TicketHash, string Phase);

/// <summary>
/// POST /v1/workspaces/{name}/move: move a workspace to a peer. Mode: cold | stateful | live; null picks
/// cold for a stopped workspace and (until the live engine is merged) stateful for a running or paused one.
/// </summary>
public sealed record MoveRequest(string Peer, string? Mode = null, bool KeepSource = false, bool Recover = false, string? Name = null);

/// <summary>GET /v1/peer/migrations/{hash} and its abort (peer API): where one side of a move stands.</summary>
public sealed record PeerMigrationState(string TicketHash, string Phase, string? Outcome, string? Detail);

/// <summary>
/// Perform's announcement to the destination (peer API, POST /v1/peer/migrations/{hash}/perform): the ticket
/// again (the destination checks it is the one it admitted) and the overlay the source will send, by hash and size.
/// </summary>
/// A stateful move also announces its saved RAM and device state (ws stop --stateful's file and record), sent before the overlay.
public sealed record PeerMigrationPerform(string Ticket, string OverlaySha256, long OverlaySize,
    string? StateSha256 = null, long StateSize = 0, string? StateFormat = null, int StateMemoryMib = 0);
