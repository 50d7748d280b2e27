namespace Workspaces.Native;

/// <summary>nft refused a command; the message is nft's own.</summary>
public sealed class NftablesException(string message) : Exception($"nftables refused the change: {message}");
