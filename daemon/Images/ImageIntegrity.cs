using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;
using Workspaces.Native;

namespace Workspaces.Daemon.Images;

/// <summary>
/// Proves a blob's bytes still match its address before use, in O(1) while the file is untouched:
/// the file's identity (device, inode, size, mtime, ctime) is recorded whenever its hash matched;
/// an unchanged identity means unchanged bytes, and any write, even a root's, moves ctime. Only a
/// changed identity costs a re-hash.
/// </summary>
public sealed class ImageIntegrity(ImageStore store, ImageRepository images)
{
    /// <summary>Records that a blob's file matches its hash now (just written and hashed by us).</summary>
    public void Record(string sha256) => images.RecordCheck(Snapshot(sha256));

    /// <summary>Throws a 409 naming the image and the blob unless every blob of the image matches its hash.</summary>
    public async Task EnsureIntactAsync(ImageRow image, CancellationToken ct)
    {
        foreach (var (part, sha) in Parts(image))
            if (await CheckAsync(sha, force: false, ct) is { } actual)
                throw Corrupt(image, part, sha, actual);
    }

    /// <summary>Re-hashes every blob of the image whatever its identity; returns the mismatches.</summary>
    public async Task<List<string>> RehashAsync(ImageRow image, CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var (part, sha) in Parts(image))
            if (await CheckAsync(sha, force: true, ct) is { } actual)
                problems.Add(Corrupt(image, part, sha, actual).Message);
        return problems;
    }

    /// <summary>Null when the blob matches its address, else what it hashes to now ("missing" when gone).</summary>
    private async Task<string?> CheckAsync(string sha256, bool force, CancellationToken ct)
    {
        string path = store.BlobPath(sha256);
        if (!File.Exists(path)) return "missing";
        var now = Snapshot(sha256);
        if (!force && images.LastCheck(sha256) is { } last && last with { CheckedAt = 0 } == now with { CheckedAt = 0 }) return null;

        var (actual, _) = await BlobHasher.HashAsync(path, ct);
        if (actual != sha256)
        {
            images.ForgetCheck(sha256);
            return actual;
        }
        images.RecordCheck(now);
        return null;
    }

    private BlobCheckRow Snapshot(string sha256)
    {
        var id = Libc.GetFileIdentity(store.BlobPath(sha256));
        return new BlobCheckRow(sha256, (long)id.Device, (long)id.Inode, id.Size, id.ModifiedNs, id.ChangedNs,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    private static IEnumerable<(string Part, string Sha)> Parts(ImageRow image)
    {
        if (image.Disk is not null) yield return ("disk", image.Disk);
        if (image.Kernel is not null) yield return ("kernel", image.Kernel);
        if (image.Initrd is not null) yield return ("initrd", image.Initrd);
    }

    private static WorkspacesException Corrupt(ImageRow image, string part, string expected, string actual) =>
        WorkspacesException.Conflict(actual == "missing"
            ? $"image '{image.Name}' is damaged: its {part} blob {expected[..12]} is missing from the cache; remove the image and import it again"
            : $"image '{image.Name}' is damaged: its {part} blob should hash to {expected[..12]}… but hashes to {actual[..12]}… (changed on disk); remove the image and import it again");
}
