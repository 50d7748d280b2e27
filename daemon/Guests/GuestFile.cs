namespace Workspaces.Daemon.Guests;

/// <summary>
/// A file the seed hands to the guest: SeedPath on the seed disk, GuestPath where cloud-init writes
/// it (write_files), with Mode. OneTime files (the identity's private key, secrets) leave the seed
/// once the guest's first boot is confirmed.
/// </summary>
public sealed record GuestFile(string SeedPath, string GuestPath, string Mode, byte[] Content, bool OneTime);
