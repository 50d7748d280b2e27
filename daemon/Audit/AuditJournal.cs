using System.Globalization;
using Workspaces.Client;

namespace Workspaces.Daemon.Audit;

/// <summary>A record as journal fields: `journalctl WORKSPACE=web1`, `ACTION=...`, `ACTOR_UID=...` find it.</summary>
public static class AuditJournal
{
    public static List<KeyValuePair<string, string>> Fields(AuditRecord record)
    {
        string who = record.Actor.Peer is { Length: > 0 } peer ? $"peer {peer}" : record.Actor.Uid is { } uid ? $"uid {uid}" : "the daemon";
        var fields = new List<KeyValuePair<string, string>>
        {
            new("MESSAGE", $"audit: {record.Action} {record.Target} by {who}: {record.Outcome.Status}{(record.Outcome.Reason is { } r ? " " + r : "")}"),
            new("PRIORITY", record.Outcome.Status >= 400 ? "5" : "6"),
            new("SYSLOG_IDENTIFIER", "workspacesd"),
            new("AUDIT_SEQ", record.Seq.ToString(CultureInfo.InvariantCulture)),
            new("ACTION", record.Action),
            new("AUDIT_STATUS", record.Outcome.Status.ToString(CultureInfo.InvariantCulture)),
            new("ACTOR_AUTH", record.Actor.Auth),
        };
        if (record.Actor.Uid is { } actor) fields.Add(new("ACTOR_UID", actor.ToString(CultureInfo.InvariantCulture)));
        if (record.Actor.Fingerprint is { } fingerprint) fields.Add(new("ACTOR_PEER_FINGERPRINT", fingerprint));
        if (record.Target is { } target)
        {
            fields.Add(new("TARGET", target));
            if (target.StartsWith("workspaces/", StringComparison.Ordinal)) fields.Add(new("WORKSPACE", target["workspaces/".Length..]));
        }
        if (record.Owner is { } owner) fields.Add(new("OWNER_UID", owner.ToString(CultureInfo.InvariantCulture)));
        return fields;
    }
}
