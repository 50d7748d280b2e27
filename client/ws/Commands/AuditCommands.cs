using System.CommandLine;
using System.Globalization;
using Workspaces.Client;
using Workspaces.Client.Audit;

namespace Workspaces.Cli.Commands;

public static class AuditCommands
{
    /// <summary>Where a packaged daemon keeps its audit log (its state dir's audit/).</summary>
    private const string DefaultDirectory = "/var/lib/workspaces/audit";

    public static void Add(RootCommand root)
    {
        var since = new Option<string?>("--since") { Description = "records from this time on (ISO 8601, e.g. 2026-11-26T10:00Z, or -1h, -30m, -2d)" };
        var workspace = new Option<string?>("--workspace") { Description = "records about this workspace only" };
        var actor = new Option<uint?>("--actor") { Description = "records of this uid's actions only" };
        var limit = new Option<int?>("--limit") { Description = "the newest N records (default 1000)" };
        var audit = new Command("audit", "the signed audit log: who changed what, when, and how it ended (admins: all; users: their workspaces)")
            { since, workspace, actor, limit };
        audit.Run(async (client, parse, ct) =>
        {
            var records = await client.GetAuditAsync(ParseSince(parse.GetValue(since)), parse.GetValue(workspace), parse.GetValue(actor), parse.GetValue(limit), ct);
            if (Output.Json(parse)) { Output.WriteJson(records, WorkspacesJson.Default.AuditRecordArray); return; }
            Output.Table(["seq", "time", "actor", "action", "target", "outcome"], records.Select(r => new[]
            {
                r.Seq.ToString(CultureInfo.InvariantCulture), r.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                Who(r.Actor), r.Action, r.Target ?? "", r.Outcome.Status + (r.Outcome.Reason is { } why ? " " + why : ""),
            }));
        });

        var files = new Argument<string[]>("file") { Description = "day files (YYYY-MM-DD.jsonl) in order, or the audit directory (default " + DefaultDirectory + ")", Arity = ArgumentArity.ZeroOrMore };
        var hostKey = new Option<string?>("--host-key") { Description = "the host's signing key (ed25519:BASE64, as `ws host` shows): checkpoints must be signed by it" };
        var verify = new Command("verify", "check the audit log's hash chain and signed checkpoints offline (no daemon needed); names the first record changed, removed or inserted")
            { files, hostKey };
        verify.SetAction(parse =>
        {
            string[] paths = parse.GetValue(files) is { Length: > 0 } given ? given : [DefaultDirectory];
            AuditVerification result;
            try
            {
                result = new AuditVerifier(parse.GetValue(hostKey)).Verify(paths);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return Cli.Fail(e.Message);
            }
            if (Output.Json(parse)) Output.WriteJson(result, AuditJson.Default.AuditVerification);
            else
            {
                foreach (var note in result.Notes) Console.Out.WriteLine("note: " + note);
                if (result.Ok) Console.Out.WriteLine("OK: " + result.Message);
            }
            return result.Ok ? 0 : Cli.Fail("audit log does not verify: " + result.Message);
        });
        audit.Subcommands.Add(verify);
        root.Subcommands.Add(audit);
    }

    private static string Who(AuditActor actor) => actor.Auth switch
    {
        "tls" => $"peer {actor.Peer ?? actor.Fingerprint ?? "?"}",
        "daemon" => "daemon",
        _ => actor.Uid is { } uid ? $"uid {uid}" : "?",
    };

    private static DateTimeOffset? ParseSince(string? text)
    {
        if (text is null) return null;
        if (text.Length > 2 && text[0] == '-' && double.TryParse(text[1..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double n))
        {
            var ago = text[^1] switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), 'd' => TimeSpan.FromDays(n), _ => (TimeSpan?)null };
            if (ago is { } span) return DateTimeOffset.UtcNow - span;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
            : throw new ArgumentException($"--since: '{text}' is not a time (ISO 8601) nor an age like -1h");
    }
}
