namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// How to act. Stop: Force skips ACPI, Timeout overrides how long to wait for the guest to power off.
/// Start: AcceptOffer takes the host's counter-offer when the asked shape does not fit.
/// </summary>
public sealed record ActionOptions(bool Force = false, TimeSpan? Timeout = null, bool AcceptOffer = false);
