namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// How to act. Stop: Force skips ACPI, Timeout overrides how long to wait for the guest to power off,
/// Stateful saves RAM and device state instead of shutting down. Start: AcceptOffer takes the host's
/// counter-offer when the asked shape does not fit; DiscardState boots a Saved workspace afresh.
/// </summary>
public sealed record ActionOptions(bool Force = false, TimeSpan? Timeout = null, bool AcceptOffer = false, bool Stateful = false,
    bool DiscardState = false);
