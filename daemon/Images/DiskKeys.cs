using System.Security.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Images;

/// <summary>
/// The keys of sealed (LUKS-encrypted) disks. A key is 256 random bits, stored only sealed to a
/// host's X25519 key; one key serves an image's whole lineage (the base, the deltas checked in on
/// it, the workspaces' overlays), so one QEMU secret opens every layer. Because the key is random,
/// LUKS's password stretching adds nothing: images are made with the shortest iteration time.
/// </summary>
public sealed class DiskKeys(ImageRepository images, HostIdentity host)
{
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    /// <summary>LUKS takes a passphrase (UTF-8 text), so the key is handed over as hex.</summary>
    public static string Passphrase(byte[] key) => Convert.ToHexStringLower(key);

    public ImageKeyRow SealForThisHost(string imageId, byte[] key) =>
        new(imageId, host.SealingPublicKey, Convert.ToBase64String(KeySeal.Seal(key, host.SealingKey.PublicKey)));

    /// <summary>The image's disk key, opened with this host's key; a clear 409 when it is sealed only to others.</summary>
    public byte[] Unseal(ImageRow image)
    {
        var keys = images.Keys(image.Id);
        if (keys.Count == 0)
            throw new WorkspacesException(500, "Missing key", $"image '{image.Name}' is sealed but no key for it is stored");
        var mine = keys.FirstOrDefault(k => k.Recipient == host.SealingPublicKey);
        if (mine is null)
            throw WorkspacesException.Conflict(
                $"image '{image.Name}' is sealed to another host ({string.Join(", ", keys.Select(k => KeyText.Fingerprint(k.Recipient)))}), " +
                $"not to this one ({KeyText.Fingerprint(host.SealingPublicKey)}); on a host that holds its key, run " +
                $"`ws image reseal {image.Name} --to {host.SealingPublicKey}` and bring the image again");
        return KeySeal.Open(Convert.FromBase64String(mine.Sealed), host.SealingKey)
               ?? throw new WorkspacesException(500, "Damaged key", $"the key of image '{image.Name}' sealed to this host does not open (altered?)");
    }

    /// <summary>Seals the image's key (and so its lineage's) to another host, beside the seals it has.</summary>
    public string Reseal(IReadOnlyList<ImageRow> chain, string recipientText)
    {
        var recipient = KeyText.ParseSealing(recipientText);
        string normalized = KeyText.Format(recipient);
        byte[] key = Unseal(chain[0]);
        foreach (var image in chain.Where(i => images.Keys(i.Id).Count > 0))
            images.AddKey(new ImageKeyRow(image.Id, normalized, Convert.ToBase64String(KeySeal.Seal(key, recipient))));
        return normalized;
    }
}
