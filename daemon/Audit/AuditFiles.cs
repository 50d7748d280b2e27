using System.Text.Json;
using Workspaces.Client;
using Workspaces.Client.Audit;

namespace Workspaces.Daemon.Audit;

/// <summary>
/// The audit directory: day files ({state}/audit/YYYY-MM-DD.jsonl, 0600 in a 0700 directory), the head
/// file, where the chain resumes after a restart, and retention.
/// </summary>
public sealed class AuditFiles(string directory, ILogger logger)
{
    public string Directory { get; } = directory;

    public string HeadPath => Path.Combine(Directory, AuditChain.HeadFile);

    public void Prepare()
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// The last complete record: its seq and hash continue the chain. A crash can leave a torn last line
    /// (no newline, or bytes that are no record): that tail is cut off, and said so, not chained onto.
    /// </summary>
    public (long Seq, string Prev, List<string> Repairs) Resume()
    {
        var repairs = new List<string>();
        foreach (var file in AuditChain.DayFiles(Directory).Reverse())
        {
            byte[] bytes = File.ReadAllBytes(file);
            int end = bytes.Length == 0 ? 0 : Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 1) + 1;
            AuditRecord? last = null;
            string? hash = null;
            while (end > 0 && last is null)
            {
                int start = end >= 2 ? Array.LastIndexOf(bytes, (byte)'\n', end - 2) + 1 : 0;
                var line = bytes.AsSpan(start, end - 1 - start);
                try
                {
                    last = JsonSerializer.Deserialize(line, AuditJson.Default.AuditRecord);
                    hash = AuditChain.Hash(line);
                }
                catch (JsonException)
                {
                    end = start;
                }
            }
            if (end < bytes.Length)
            {
                using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
                {
                    stream.SetLength(end);
                    stream.Flush(flushToDisk: true);
                }
                AuditLogMessages.TailRepaired(logger, file, bytes.Length - end);
                repairs.Add($"{Path.GetFileName(file)}: cut {bytes.Length - end} bytes after its last complete record");
            }
            if (last is not null) return (last.Seq, hash!, repairs);
        }
        return (0, AuditChain.Genesis, repairs);
    }

    public FileStream Open(string fileName) => new(Path.Combine(Directory, fileName), new FileStreamOptions
    {
        Mode = FileMode.Append,
        Access = FileAccess.Write,
        Share = FileShare.ReadWrite | FileShare.Delete,
        BufferSize = 64 * 1024,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });

    /// <summary>The latest checkpoint line, staged and renamed so a crash leaves the old head or the new one.</summary>
    public void WriteHead(ReadOnlySpan<byte> checkpointLine)
    {
        string staged = HeadPath + ".tmp";
        using (var stream = new FileStream(staged, new FileStreamOptions
               {
                   Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        {
            stream.Write(checkpointLine);
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
        }
        File.Move(staged, HeadPath, overwrite: true);
    }

    /// <summary>Removes day files past the age, then the oldest while all are larger than the budget; never the current one.</summary>
    public List<string> ApplyRetention(string current, DateTimeOffset now, int days, long bytes)
    {
        var removed = new List<string>();
        var files = AuditChain.DayFiles(Directory).Select(f => new FileInfo(f)).Where(f => f.Name != current).ToList();
        string oldestKept = AuditChain.FileName(now.AddDays(-days));
        long total = files.Sum(f => f.Length) + (File.Exists(Path.Combine(Directory, current)) ? new FileInfo(Path.Combine(Directory, current)).Length : 0);
        foreach (var file in files)
        {
            if (string.CompareOrdinal(file.Name, oldestKept) >= 0 && total <= bytes) break;
            total -= file.Length;
            file.Delete();
            removed.Add(file.Name);
        }
        if (removed.Count > 0) AuditLogMessages.Removed(logger, string.Join(", ", removed));
        return removed;
    }
}
