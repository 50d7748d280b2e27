namespace Workspaces.Daemon.Federation;

/// <summary>The destination's stream ids for one live migration: the NBD export (disk) and the migration stream (RAM, devices).</summary>
public sealed record LiveStreams(string Nbd, string State);
