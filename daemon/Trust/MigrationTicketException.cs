using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Trust;

/// <summary>A destination refuses a migration ticket: 403, with the reason the source's `ws move` shows.</summary>
public sealed class MigrationTicketException(string message)
    : WorkspacesException(403, "Migration ticket refused", message);
