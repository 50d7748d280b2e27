using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// The playground identity document as members hold it, with real test guests under TCG: every member
/// has the same signed document at /etc/playground.json naming each member by the MAC and address its
/// guest really has; it verifies through the daemon and `ws playground verify`; a changed byte fails,
/// naming the member it touched.
/// </summary>
public sealed class PlaygroundIdentityTests
{
    private const string Document = """
        name: lab
        network:
          subnet: 10.78.0.0/24
        roles:
          node:
            image: guest
            count: 2
            memory: 96
        """;

    private static readonly Dictionary<string, object> Config = new()
    {
        ["policy"] = new Dictionary<string, object> { ["capacityCpus"] = 8, ["cpuOvercommit"] = 1, ["capacityMemoryMiB"] = 1024, ["minMemoryMiB"] = 32 },
    };

    [Fact]
    public async Task Every_member_holds_a_document_that_verifies_and_a_changed_byte_fails_naming_the_member()
    {
        await using var ns = await NetNamespace.CreateAsync("pgid");
        await using var daemon = await DaemonProcess.StartAsync(Config, netns: ns.Name);
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        Assert.True((await client.ApplyPlaygroundAsync(Document, yes: true)).Applied);
        string[] members = ["lab-node-1", "lab-node-2"];
        var seen = new Dictionary<string, (string Mac, string Address)>();
        foreach (var m in members)
        {
            await daemon.WaitForConsoleAsync(m, "WORKSPACE-COMMANDS");
            string address = "";
            for (int i = 0; (address = await GuestShell.RunAsync(daemon, m, "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).Trim() == ""; i++)
            {
                if (i == 60) throw new TimeoutException($"{m} got no address");
                await Task.Delay(500);
            }
            seen[m] = ((await GuestShell.RunAsync(daemon, m, "cat /sys/class/net/eth0/address")).Trim(), address.Trim());
        }

        // The document a member holds is the one the daemon wrote after the apply; both members hold the same.
        string held = (await GuestShell.RunAsync(daemon, "lab-node-1", "cat /etc/playground.json")).Replace("\r", "").TrimEnd('\n');
        Assert.Equal(held, (await GuestShell.RunAsync(daemon, "lab-node-2", "cat /etc/playground.json")).Replace("\r", "").TrimEnd('\n'));
        var check = await client.VerifyPlaygroundIdentityAsync(held);
        Assert.True(check.Valid, string.Join("; ", check.Problems));
        Assert.Equal("lab", check.Name);
        Assert.Equal(members, check.Members);
        // It names each member by what its guest really has, as this host's signed claim.
        foreach (var m in members) Assert.Contains($"\"address\":\"{seen[m].Address}\",", held);
        foreach (var m in members) Assert.Contains($"\"mac\":\"{seen[m].Mac}\",\"name\":\"{m}\"", held);

        // ws playground show --identity serves the same kind of document, and ws playground verify accepts it.
        var shown = await daemon.WsAsync("playground", "show", "lab", "--identity");
        Assert.Equal(0, shown.ExitCode);
        string file = Path.Combine(daemon.Dir, "identity.json");
        await File.WriteAllTextAsync(file, shown.Stdout);
        var verified = await daemon.WsAsync("playground", "verify", file);
        Assert.True(verified.ExitCode == 0, verified.Stderr);
        Assert.Contains("Valid: playground lab", verified.Stdout);

        // One changed byte in lab-node-2's address: refused, naming that member (and the playground signature over it).
        string other = seen["lab-node-2"].Address;
        string changed = other[..^1] + (other[^1] == '9' ? '8' : (char)(other[^1] + 1));
        string tampered = held.Replace($"\"address\":\"{other}\",", $"\"address\":\"{changed}\",");
        Assert.NotEqual(held, tampered);
        var bad = await client.VerifyPlaygroundIdentityAsync(tampered);
        Assert.False(bad.Valid);
        Assert.Contains(bad.Problems, p => p.StartsWith("member lab-node-2 ", StringComparison.Ordinal) && p.Contains("signature does not match"));
        Assert.DoesNotContain(bad.Problems, p => p.StartsWith("member lab-node-1 ", StringComparison.Ordinal));
        await File.WriteAllTextAsync(file, tampered);
        var refused = await daemon.WsAsync("playground", "verify", file);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("member lab-node-2 (host", refused.Stderr);

        await client.DeletePlaygroundAsync("lab");
    }
}
