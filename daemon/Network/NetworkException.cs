using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Network;

/// <summary>The host refused a network change (a bridge, dnsmasq, the rule set): the request was fine, the host could not do it now.</summary>
/// <remarks>When a tool refused (ip, dnsmasq), its CommandException is the inner exception.</remarks>
public sealed class NetworkException(string message, Exception? inner = null)
    : WorkspacesException(503, "Network unavailable", message, inner: inner);
