namespace Workspaces.Daemon.State;

/// <summary>A pull from peers not yet finished: what was asked for, from whom, by whom.</summary>
public sealed record PullRow(string Image, string? FromPeer, long Owner, long StartedAt);
