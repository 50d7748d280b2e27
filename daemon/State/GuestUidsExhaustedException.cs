namespace Workspaces.Daemon.State;

/// <summary>
/// The next guest uid would fall outside this database's slot, where it could be another daemon's guest's uid.
/// Uids are handed out in order (one past the highest in use), so deleting the newest workspaces frees some.
/// </summary>
public sealed class GuestUidsExhaustedException(uint first, uint last)
    : Exception($"no guest uid is left for a new workspace: this daemon hands out {first}-{last} in order and the last is taken; delete the most recently created workspaces to free some");
