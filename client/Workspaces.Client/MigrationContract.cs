namespace Workspaces.Client;

/// <summary>POST /v1/peer/migrations (peer API): a source offers a signed migration ticket to this host (Prepare).</summary>
public sealed record PeerMigrationOffer(string Ticket);

/// <summary>The destination admitted the ticket: its hash, which both sides record with the outcome.</summary>
public sealed record PeerMigrationAccepted(string TicketHash, string Phase);

/// <summary>
/// POST /v1/workspaces/{name}/move: move a workspace to a peer. Mode: cold | stateful | live; null picks
/// cold for a stopped workspace and live for a running or paused one.
/// </summary>
public sealed record MoveRequest(string Peer, string? Mode = null, bool KeepSource = false, bool Recover = false, string? Name = null);

/// <summary>GET /v1/peer/migrations/{hash} and its abort (peer API): where one side of a move stands.</summary>
/// <summary>
/// POST /v1/workspaces/{name}/move/recover: settle a half-done move now by asking the peer. KeepHere: the peer is
/// gone for good and the operator takes this host's copy as the only one (the source resumes it; a destination keeps it).
/// </summary>
public sealed record MoveRecoverRequest(bool KeepHere = false);

public sealed record PeerMigrationState(string TicketHash, string Phase, string? Outcome, string? Detail);

/// <summary>
/// Perform's announcement to the destination (peer API, POST /v1/peer/migrations/{hash}/perform): the ticket
/// again (the destination checks it is the one it admitted) and the overlay the source will send, by hash and size.
/// </summary>
/// A stateful move also announces its saved RAM and device state (ws stop --stateful's file and record), sent before the overlay.
public sealed record PeerMigrationPerform(string Ticket, string OverlaySha256, long OverlaySize,
    string? StateSha256 = null, long StateSize = 0, string? StateFormat = null, int StateMemoryMib = 0);

/// <summary>
/// Prepare of an admitted live move (peer API, POST /v1/peer/migrations/{hash}/live): the ticket again. The
/// destination makes the workspace's record and new overlay and launches the incoming QEMU before it answers.
/// </summary>
public sealed record PeerLivePrepare(string Ticket);

/// <summary>The destination listens: the one-time stream ids (peer API, /v1/peer/streams/{id}) for the disk (NBD) and the RAM and device state.</summary>
public sealed record PeerLiveStreams(string TicketHash, string NbdStream, string StateStream);
