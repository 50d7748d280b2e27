using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Images;

/// <summary>
/// A template's RAM state, kept a second time decompressed, as Firecracker keeps a snapshot's memory: QEMU then
/// reads the file itself, with no zstd beside it competing for the CPU (measured for a 256 MiB guest: a restore
/// took 100 ms through zstd, 65 ms from the plain file; 106 MB on disk instead of 41 MB). The compressed blob
/// stays the image's part (signed, exported, pulled, verified); this copy is made from it once, in the
/// background after the template's first clone, and removed with the blob (ImageStore.DeleteBlob).
/// </summary>
public sealed partial class TemplateRam(ImageStore store, CommandRunner runner, ILogger<TemplateRam> logger)
{
    private readonly ConcurrentDictionary<string, Task> _making = new();

    /// <summary>The file a clone restores from: the decompressed copy once there is one, else the blob (and the copy is begun).</summary>
    public string PathFor(string sha256)
    {
        string plain = store.RamCachePath(sha256);
        if (File.Exists(plain)) return plain;
        _making.GetOrAdd(sha256, sha => Task.Run(() => MakeAsync(sha)));
        return store.BlobPath(sha256);
    }

    private async Task MakeAsync(string sha256)
    {
        string plain = store.RamCachePath(sha256), staged = plain + ".tmp";
        try
        {
            var result = await runner.RunAsync("zstd", ["-q", "-d", "-f", "-o", staged, store.BlobPath(sha256)], CancellationToken.None);
            if (!result.Succeeded)
            {
                Failed(logger, sha256, result.Stderr.Trim());
                return;
            }
            // Durable before it is named: a copy cut short by a crash would make every later clone fail.
            await using (var file = new FileStream(staged, FileMode.Open, FileAccess.ReadWrite)) file.Flush(flushToDisk: true);
            File.SetUnixFileMode(staged, UnixFileMode.UserRead);
            File.Move(staged, plain);
            // The template was removed meanwhile: its blob went, so does this.
            if (!File.Exists(store.BlobPath(sha256))) File.Delete(plain);
        }
        catch (IOException e)
        {
            Failed(logger, sha256, e.Message);
        }
        finally
        {
            File.Delete(staged);
            _making.TryRemove(sha256, out _);
        }
    }

    [LoggerMessage(EventId = 6000, Level = LogLevel.Warning, Message = "Template RAM {Sha256} could not be kept decompressed (clones restore through zstd): {Error}")]
    private static partial void Failed(ILogger logger, string sha256, string error);
}
