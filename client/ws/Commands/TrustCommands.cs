using System.CommandLine;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

public static class TrustCommands
{
    public static void Add(RootCommand root)
    {
        var trust = new Command("trust", "the signers whose image signatures this site trusts");

        var name = new Argument<string>("name") { Description = "the signer's name" };
        var key = new Argument<string>("pubkey") { Description = "ed25519:BASE64 (as `ws host` shows), or a PEM public key file" };
        var add = new Command("add", "trust a signer's Ed25519 public key") { name, key };
        add.Run(async (client, parse, ct) =>
        {
            string text = parse.GetValue(key)!;
            if (File.Exists(text)) text = await File.ReadAllTextAsync(text, ct);
            var signer = await client.AddTrustAsync(parse.GetValue(name)!, text, ct);
            if (Output.Json(parse)) Output.WriteJson(signer, WorkspacesJson.Default.TrustedSignerInfo);
            else Console.Out.WriteLine($"Trusting {signer.Name} ({signer.Fingerprint})");
        });
        trust.Subcommands.Add(add);

        var list = new Command("list", "list trusted signers");
        list.Aliases.Add("ls");
        list.Run(async (client, parse, ct) =>
        {
            var signers = await client.ListTrustAsync(ct);
            if (Output.Json(parse)) { Output.WriteJson(signers, WorkspacesJson.Default.TrustedSignerInfoArray); return; }
            Output.Table(["name", "fingerprint", "key", "added"],
                signers.Select(s => new[] { s.Name, s.Fingerprint, s.PublicKey, s.AddedAt is { } a ? Output.Age(a) : "this host" }));
        });
        trust.Subcommands.Add(list);

        var rm = new Command("rm", "stop trusting a signer") { name };
        rm.Aliases.Add("remove");
        rm.Run(async (client, parse, ct) => await client.RemoveTrustAsync(parse.GetValue(name)!, ct));
        trust.Subcommands.Add(rm);

        root.Subcommands.Add(trust);
    }
}
