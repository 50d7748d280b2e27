namespace Workspaces.Client;

/// <summary>POST /v1/peer/migrations (peer API): a source offers a signed migration ticket to this host (Prepare).</summary>
public sealed record PeerMigrationOffer(string Ticket);

/// <summary>The destination admitted the ticket: its hash, which both sides record with the outcome.</summary>
public sealed record PeerMigrationAccepted(string TicketHash, string Phase);
