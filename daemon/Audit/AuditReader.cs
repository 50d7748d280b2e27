using System.Text.Json;
using Workspaces.Client;
using Workspaces.Client.Audit;

namespace Workspaces.Daemon.Audit;

/// <summary>
/// Reads the day files for `ws audit`: from the day of Since on, filtered, the newest Limit records.
/// A line the writer has not finished yet (no newline) is not read.
/// </summary>
public sealed class AuditReader(AuditLog log)
{
    public List<AuditRecord> Read(AuditQuery query)
    {
        var found = new Queue<AuditRecord>();
        if (!Directory.Exists(log.Directory)) return [];
        string? from = query.Since is { } since ? AuditChain.FileName(since) : null;
        string? target = query.Workspace is { } name ? AuditEntry.WorkspaceTarget(name) : null;
        foreach (var file in AuditChain.DayFiles(log.Directory))
        {
            if (from is not null && string.CompareOrdinal(Path.GetFileName(file), from) < 0) continue;
            foreach (var record in Records(file))
            {
                if (query.Since is { } s && record.Time < s) continue;
                if (target is not null && record.Target != target) continue;
                if (query.Actor is { } actor && record.Actor.Uid != actor) continue;
                if (query.Owner is { } owner && record.Owner != owner) continue;
                found.Enqueue(record);
                if (found.Count > query.Limit) found.Dequeue();
            }
        }
        return [.. found];
    }

    private static IEnumerable<AuditRecord> Records(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        string all = reader.ReadToEnd();
        int complete = all.LastIndexOf('\n') + 1;
        foreach (var line in all[..complete].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            AuditRecord? record = null;
            try { record = JsonSerializer.Deserialize(line, AuditJson.Default.AuditRecord); } catch (JsonException) { }
            if (record is not null) yield return record;
        }
    }
}
