namespace Workspaces.Daemon.Guests;

/// <summary>The NIC's static configuration for one run: its MAC, the leased address, the network's prefix and gateway.</summary>
public sealed record SeedAddress(string Mac, string Address, int PrefixLength, string? Gateway);
