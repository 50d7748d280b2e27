using System.Text;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// Writes a NoCloud seed: an ISO9660 image labelled "cidata" (with Rock Ridge and Joliet names),
/// made by Debian's genisoimage from a staging directory. The staging directory (it may hold
/// secrets for a moment) is private and removed at once; the ISO is written beside its final name
/// and renamed over it, so a guest never boots half a seed.
/// </summary>
public sealed class SeedDisk(CommandRunner runner)
{
    public const string VolumeId = "cidata";

    /// <summary>
    /// Writes the seed unless the one at path already holds exactly these contents (its fingerprint beside it):
    /// a workspace's seed changes rarely (its address, its user-data), and genisoimage cost a start 7 ms.
    /// </summary>
    public async Task WriteAsync(SeedContents seed, string path, CancellationToken ct)
    {
        string stamp = path + ".sha256";
        string? fingerprint = seed.Fingerprint();
        if (fingerprint is not null && File.Exists(path) && File.Exists(stamp) && File.ReadAllText(stamp) == fingerprint) return;
        File.Delete(stamp); // from here on the seed at path may change: no stamp vouches for it
        await WriteIsoAsync(seed, path, ct);
        if (fingerprint is not null) File.WriteAllText(stamp, fingerprint);
    }

    private async Task WriteIsoAsync(SeedContents seed, string path, CancellationToken ct)
    {
        string dir = Path.GetDirectoryName(path)!;
        string stage = Path.Combine(dir, $".seed-{Guid.NewGuid():N}");
        string temporary = path + ".tmp";
        Directory.CreateDirectory(stage, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            Write(stage, "meta-data", Encoding.UTF8.GetBytes(seed.MetaData));
            Write(stage, "user-data", Encoding.UTF8.GetBytes(seed.UserData));
            if (seed.NetworkConfig is not null) Write(stage, "network-config", Encoding.UTF8.GetBytes(seed.NetworkConfig));
            foreach (var file in seed.Files) Write(stage, file.SeedPath, file.Content);
            File.Delete(temporary);
            var result = await runner.RunAsync("genisoimage",
                ["-quiet", "-output", temporary, "-volid", VolumeId, "-joliet", "-rock", stage], ct);
            result.EnsureSuccess($"genisoimage of the seed {path}");
            using (var iso = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite)) iso.Flush(flushToDisk: true);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
            File.Delete(temporary);
        }
    }

    private static void Write(string stage, string relative, byte[] content)
    {
        string full = Path.Combine(stage, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        File.SetUnixFileMode(full, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
