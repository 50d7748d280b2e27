namespace Workspaces.Daemon.State;

/// <summary>A destination's durable record of what the source announced at Perform (see migration_transfers).</summary>
public sealed record MigrationTransferRow(string TicketHash, string Perform);
