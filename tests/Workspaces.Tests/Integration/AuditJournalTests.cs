using System.Text.Json;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// Each audit record goes to a real journald with its fields, so `journalctl WORKSPACE=web1` finds it:
/// the daemon of this build (not the .deb: no AOT build needed) run as a transient unit under the
/// real systemd of a container booted by tests/systemd/container.sh (an overlay of this machine's /).
/// </summary>
public sealed class AuditJournalTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private SystemdContainer? _container;

    public async Task InitializeAsync() => _container = await SystemdContainer.BootAsync("wsa", output.WriteLine, "journalctl");

    public async Task DisposeAsync()
    {
        if (_container is not null) await _container.DisposeAsync();
    }

    private Task<string> ExecAsync(string command) => _container!.ExecAsync(command);

    [Fact]
    public async Task Under_systemd_journalctl_WORKSPACE_finds_the_record_with_its_action_and_actor()
    {
        // This build's daemon goes in by copy: the container does not see this machine's /tmp, where a clean clone may be.
        var (daemon, prefix) = Repo.Daemon;
        string built = prefix is [var dll, ..] ? dll : daemon;
        await _container!.CopyInAsync(Path.GetDirectoryName(built)!, "/opt/wsa-daemon");
        string inside = $"/opt/wsa-daemon/{Path.GetFileName(built)}";
        string command = prefix.Length == 0 ? inside : $"{daemon} {inside} {string.Join(' ', prefix.Skip(1))}".Trim();
        await ExecAsync("mkdir -p /tmp/wsa && echo '{}' > /tmp/wsa/config.json");
        // A transient service: INVOCATION_ID set, journald's socket there, as under the packaged unit.
        await ExecAsync($"systemd-run --unit ws-audit --property=Type=simple {command} --config /tmp/wsa/config.json --state-dir /tmp/wsa/state --socket /tmp/wsa/ws.sock");
        await ExecAsync("for i in $(seq 300); do [ -S /tmp/wsa/ws.sock ] && exit 0; sleep 0.1; done; exit 1");
        string answer = await ExecAsync("curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket /tmp/wsa/ws.sock http://w/v1/workspaces/web1/pause");
        Assert.Equal("404", answer);

        // The record is queued, then written and sent: poll journald until it has it.
        string found = await ExecAsync("for i in $(seq 100); do out=$(journalctl WORKSPACE=web1 -o json --no-pager); [ -n \"$out\" ] && { echo \"$out\"; exit 0; }; sleep 0.1; done; exit 1");
        var entry = JsonDocument.Parse(found.Split('\n')[0]).RootElement;
        Assert.Equal("POST /v1/workspaces/{name}/pause", entry.GetProperty("ACTION").GetString());
        Assert.Equal("0", entry.GetProperty("ACTOR_UID").GetString());
        Assert.Equal("404", entry.GetProperty("AUDIT_STATUS").GetString());
        Assert.Equal("workspaces/web1", entry.GetProperty("TARGET").GetString());
        Assert.Contains("no workspace named", entry.GetProperty("MESSAGE").GetString());

        // The other fields select it too, and the journal's seq is the audit file's.
        Assert.NotEqual("", await ExecAsync("journalctl ACTION='POST /v1/workspaces/{name}/pause' ACTOR_UID=0 -o cat --no-pager"));
        string seq = entry.GetProperty("AUDIT_SEQ").GetString()!;
        string day = await ExecAsync("cat /tmp/wsa/state/audit/*.jsonl");
        Assert.Contains($"\"seq\":{seq},", day.Split('\n').Single(l => l.Contains("workspaces/web1", StringComparison.Ordinal)));
        await ExecAsync("systemctl stop ws-audit");
    }
}
