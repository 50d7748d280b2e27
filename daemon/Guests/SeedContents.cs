using System.Text;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// What a workspace's NoCloud seed holds, as text and bytes, before any file is written: meta-data
/// (instance-id = the workspace's id, so a copy, a new id, is a new instance to cloud-init),
/// network-config (version 2, the address leased for this run), user-data (UserData.Compose), and
/// the files under /workspaces/ on the seed (the identity; secrets until the first boot is confirmed).
/// </summary>
public sealed record SeedContents(string MetaData, string? NetworkConfig, string UserData, IReadOnlyList<GuestFile> Files)
{
    /// <summary>Where the guest finds its files (the README documents these paths).</summary>
    public const string GuestDir = "/etc/workspaces";

    public static SeedContents For(SeedInput input, bool withOneTimeFiles)
    {
        var files = input.Files.Where(f => withOneTimeFiles || !f.OneTime).ToList();
        string meta = $"instance-id: {input.InstanceId}\nlocal-hostname: {input.HostName}\n";
        string userData = Guests.UserData.Compose(input.UserData, DaemonCloudConfig.Build(input.SshKeys, files));
        return new SeedContents(meta, input.Address is null ? null : NetworkConfigFor(input.Address), userData, files);
    }

    /// <summary>
    /// What tells two seeds apart (SHA-256 over every field, each length-prefixed), or null for a seed with
    /// one-time files: a hash of secrets is not kept anywhere, so such a seed is always written anew.
    /// </summary>
    public string? Fingerprint()
    {
        if (Files.Any(f => f.OneTime)) return null;
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(byte[] bytes)
        {
            hash.AppendData(BitConverter.GetBytes((long)bytes.Length));
            hash.AppendData(bytes);
        }
        Add(Encoding.UTF8.GetBytes(MetaData));
        Add(Encoding.UTF8.GetBytes(NetworkConfig ?? "\0none"));
        Add(Encoding.UTF8.GetBytes(UserData));
        foreach (var file in Files)
        {
            Add(Encoding.UTF8.GetBytes($"{file.SeedPath}\0{file.GuestPath}\0{file.Mode}"));
            Add(file.Content);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Version 2, matched by MAC (the NIC's name inside the guest is the guest's business), with a static address.</summary>
    private static string NetworkConfigFor(SeedAddress a)
    {
        var text = new StringBuilder();
        text.Append("version: 2\n")
            .Append("ethernets:\n")
            .Append("  nic0:\n")
            .Append("    match:\n")
            .Append("      macaddress: \"").Append(a.Mac.ToLowerInvariant()).Append("\"\n")
            .Append("    dhcp4: false\n")
            .Append("    addresses: [\"").Append(a.Address).Append('/').Append(a.PrefixLength).Append("\"]\n");
        if (!string.IsNullOrEmpty(a.Gateway))
            text.Append("    gateway4: ").Append(a.Gateway).Append('\n')
                .Append("    nameservers:\n")
                .Append("      addresses: [").Append(a.Gateway).Append("]\n");
        return text.ToString();
    }
}
