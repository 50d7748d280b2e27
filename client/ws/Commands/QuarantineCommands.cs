using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>ws quarantine NAME [--action isolate|pause|stop] [--reason TEXT] | ws quarantine NAME --release.</summary>
public static class QuarantineCommands
{
    public static void Add(RootCommand root)
    {
        var name = new Argument<string>("name") { Description = "the workspace" };
        var release = new Option<bool>("--release") { Description = "let it out (admins; its owner when the owner put it there by hand)" };
        var action = new Option<string?>("--action") { Description = "isolate (only its gateway and DHCP; the default), pause or stop" };
        var reason = new Option<string?>("--reason") { Description = "why, kept with the quarantine and shown by ws show" };
        var quarantine = new Command("quarantine", "put a workspace in quarantine, or release it") { name, release, action, reason };
        quarantine.Run(async (client, parse, ct) =>
        {
            string workspace = parse.GetValue(name)!;
            if (parse.GetValue(release) && (parse.GetValue(action) is not null || parse.GetValue(reason) is not null))
                throw new ArgumentException("--release takes neither --action nor --reason");
            var t = parse.GetValue(release)
                ? await client.ReleaseQuarantineAsync(workspace, ct)
                : await client.QuarantineAsync(workspace, new QuarantineRequest(parse.GetValue(action), parse.GetValue(reason)), ct);
            if (Output.Json(parse)) Output.WriteJson(t, WorkspacesJson.Default.TrafficInfo);
            else Console.Out.WriteLine(t.Quarantine is { } q ? $"{t.Workspace}: in quarantine ({q.Action}): {q.Reason}" : $"{t.Workspace}: released from quarantine");
        });
        root.Subcommands.Add(quarantine);
    }

    /// <summary>ws show's lines about traffic: the counters, and the quarantine (why, since).</summary>
    public static (string, object?)[] Fields(TrafficInfo? t) => t is null ? [] :
    [
        ("Dropped", $"{t.Spoofed} spoofed, {t.EgressRefused} refused by egress allowlist, {t.RateDropped} over rate limit (packets)"),
        ("Quarantine", t.Quarantine is { } q
            ? $"{q.Action} since {q.Since:u}, {(q.ByPolicy ? "by the detection policy" : $"by uid {q.ActorUid}")}: {q.Reason}"
            : null),
    ];
}
