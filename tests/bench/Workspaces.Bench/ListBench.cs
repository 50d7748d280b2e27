using System.Diagnostics;
using System.Text;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// `ws list` (the table) and `ws list --json` with 100 workspaces against `virsh list --all` with 100 domains,
/// measured interleaved (ws, virsh, ws, virsh, ...) so the machine's load falls on both alike; and the
/// daemon's RSS idle and loaded.
///
/// The judged baseline is a libvirtd holding the 100 domains (LibvirtSession): a client asking a daemon over a
/// Unix socket, as ws does. Beside it, for reference only, libvirt's test driver (test:///FILE, a node file of
/// the 100 domains, no daemon): each virsh run sets the driver up in-process and parses the 100 definitions
/// again, other work than asking a daemon (on this machine sometimes cheaper, sometimes dearer than libvirtd).
/// </summary>
public static class ListBench
{
    public const double Target = 0.7;

    public static async Task RunAsync(DaemonProcess daemon, bool libvirt, int runs, int domains, Report report)
    {
        var client = daemon.Client;
        await Task.Delay(2000); // let start-up work settle before reading idle memory
        long idle = Measure.RssKiB(daemon.Pid);

        for (int i = 0; i < 100; i++) await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"w{i:000}", "guest"));
        string ws = Repo.NativeCli ?? throw new InvalidOperationException("WORKSPACES_CLI must name the Native AOT ws");
        string[] table = ["--socket", daemon.Socket, "list"], json = [.. table, "--json"];
        var (code, output, err) = await Measure.RunAsync(ws, table);
        if (code != 0 || output.Split('\n').Count(l => l.StartsWith("w0", StringComparison.Ordinal)) != 100)
            throw new InvalidOperationException($"ws list did not list 100 workspaces: {err}{output}");
        long loaded = Measure.RssKiB(daemon.Pid);
        report.Add("daemon RSS, idle", $"{idle / 1024.0:0.0} MiB", "", "", "<= 60 MiB", idle <= 60 * 1024);
        report.Add("daemon RSS, 100 defined", $"{loaded / 1024.0:0.0} MiB", "", "", "", null);

        if (libvirt)
        {
            await using var session = await LibvirtSession.StartAsync(daemon.Dir, domains);
            await CompareAsync(ws, table, json, runs, session.Virsh, domains, "libvirtd", judged: domains == 100, report);
        }
        if (Measure.OnPath("virsh"))
        {
            string node = Path.Combine(daemon.Dir, "libvirt-test-node.xml");
            await File.WriteAllTextAsync(node, TestDriverNode(domains));
            await CompareAsync(ws, table, json, runs, () => Virsh("-c", $"test://{node}", "list", "--all"), domains, "test driver, no daemon",
                judged: false, report);
        }
        else
        {
            report.Add("ws list, 100 defined (median)", "", "(virsh missing: apt-get install libvirt-clients)", "", $"<= {Target}x virsh list --all", null);
        }
        for (int i = 0; i < 100; i++) await client.DeleteWorkspaceAsync($"w{i:000}");
    }

    private static ProcessStartInfo Virsh(params string[] args)
    {
        var start = new ProcessStartInfo("virsh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        return start;
    }

    private static async Task CompareAsync(string ws, string[] table, string[] json, int runs, Func<ProcessStartInfo> virsh, int domains, string how,
        bool judged, Report report)
    {
        var (code, output, err) = await Measure.RunAsync(virsh());
        int rows = output.Split('\n').Count(l => l.Contains(" bench-", StringComparison.Ordinal));
        if (code != 0 || rows != domains) throw new InvalidOperationException($"virsh list --all ({how}) listed {rows} of {domains} domains: {err}");
        var medians = await Measure.InterleavedMediansAsync(runs,
            () => Measure.MustAsync(ws, table), () => Measure.MustAsync(ws, json), () => Measure.MustAsync(virsh()));
        var (ours, ourJson, lv) = (medians[0], medians[1], medians[2]);
        string baseline = $"virsh list --all, {domains} defined ({how}) {lv:0.0} ms";
        report.Add($"ws list, 100 defined (median; vs {how})", $"{ours:0.0} ms", baseline, $"{ours / lv:0.00}x",
            judged ? $"<= {Target}x" : "(reference)", judged ? ours <= Target * lv : null);
        report.Add($"ws list --json, 100 defined (median; vs {how})", $"{ourJson:0.0} ms", baseline, $"{ourJson / lv:0.00}x", "", null);
    }
    /// <summary>A node for libvirt's test driver: the domains, shut off (as the 100 workspaces are only defined).</summary>
    private static string TestDriverNode(int domains)
    {
        var xml = new StringBuilder("<node>\n");
        for (int i = 0; i < domains; i++)
            xml.Append($"""
                  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
                    <name>bench-{i:000}</name>
                    <memory unit='MiB'>256</memory>
                    <vcpu>1</vcpu>
                    <os><type arch='x86_64'>hvm</type></os>
                    <test:runstate>5</test:runstate>
                  </domain>

                """);
        return xml.Append("</node>\n").ToString();
    }
}
