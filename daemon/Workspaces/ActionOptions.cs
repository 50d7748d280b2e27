using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// How to act. Stop: Force skips ACPI, Timeout overrides how long to wait for the guest to power off,
/// Stateful saves RAM and device state instead of shutting down. Start: AcceptOffer takes the host's
/// counter-offer when the asked shape does not fit; DiscardState boots a Saved workspace afresh;
/// Incoming (a live move's destination) receives the guest instead of booting it: it is called with the
/// launched, paused guest (-incoming defer) and returns once the guest's state is complete, and only then
/// does the start run it. Its failure fails the start, which kills that QEMU.
/// </summary>
public sealed record ActionOptions(bool Force = false, TimeSpan? Timeout = null, bool AcceptOffer = false, bool Stateful = false,
    bool DiscardState = false, Func<IGuest, CancellationToken, Task>? Incoming = null);
