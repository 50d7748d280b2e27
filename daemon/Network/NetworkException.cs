using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Network;

/// <summary>The host refused a network change (a bridge, dnsmasq, the rule set): the request was fine, the host could not do it now.</summary>
public sealed class NetworkException(string message) : WorkspacesException(503, "Network unavailable", message);
