namespace Workspaces.Daemon.Network;

/// <summary>The host refused a network change.</summary>
public sealed class NetworkException(string message) : Exception(message);
