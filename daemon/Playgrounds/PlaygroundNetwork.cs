namespace Workspaces.Daemon.Playgrounds;

/// <summary>The playground's private network: its subnet and the outside addresses its members may reach.</summary>
public sealed record PlaygroundNetwork(string Subnet, string? Egress, int SubnetLine);
