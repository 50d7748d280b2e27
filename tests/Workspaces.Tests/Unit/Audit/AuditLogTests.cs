using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Client.Audit;
using Workspaces.Daemon;
using Workspaces.Daemon.Audit;
using Workspaces.Daemon.Trust;

namespace Workspaces.Tests.Unit.Audit;

/// <summary>The writer in process, on a real directory: chain, checkpoints, a torn tail, retention, the journal datagram.</summary>
public sealed class AuditLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ws-audit-").FullName;
    private readonly HostIdentity _identity;

    public AuditLogTests() => _identity = new HostIdentity(_dir);

    public void Dispose()
    {
        _identity.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string AuditDir => Path.Combine(_dir, "audit");

    private AuditLog NewLog(Action<AuditOptions>? configure = null)
    {
        var options = new WorkspacesOptions { StateDir = _dir };
        options.Audit.CheckpointEveryRecords = 10;
        configure?.Invoke(options.Audit);
        return new AuditLog(Options.Create(options), _identity, NullLogger<AuditLog>.Instance);
    }

    private static AuditEntry Entry(int i) => new(DateTimeOffset.UtcNow, new AuditActor(1000, "socket"), "POST /v1/workspaces/{name}/pause",
        AuditEntry.WorkspaceTarget($"web{i}"), 1000, new() { ["i"] = i.ToString() }, new AuditOutcome(202));

    private async Task WriteAsync(int count, Action<AuditOptions>? configure = null)
    {
        var log = NewLog(configure);
        await log.StartAsync(default);
        for (int i = 0; i < count; i++) await log.RecordAsync(Entry(i));
        await log.StopAsync(default);
    }

    private AuditVerification Verify(params string[] paths) => new AuditVerifier(_identity.SigningPublicKey).Verify(paths.Length == 0 ? [AuditDir] : paths);

    private List<string> Lines() => File.ReadAllLines(AuditChain.DayFiles(AuditDir).Single()).ToList();

    [Fact]
    public async Task A_written_log_verifies_with_the_host_key_and_not_with_another()
    {
        await WriteAsync(25);
        var ok = Verify();
        Assert.True(ok.Ok, ok.Message);
        // started + 25 + stopping, and checkpoints after the first record, every 10, and at the end.
        Assert.Equal(27, Lines().Count(l => !l.Contains("\"checkpoint\":", StringComparison.Ordinal)));
        Assert.True(ok.Checkpoints >= 4, $"{ok.Checkpoints} checkpoints");
        Assert.Equal(ok.LastSeq, ok.LastCheckpointSeq); // a clean stop seals the tail

        using var other = new HostIdentity(Directory.CreateTempSubdirectory("ws-audit-other-").FullName);
        var wrong = new AuditVerifier(other.SigningPublicKey).Verify([AuditDir]);
        Assert.False(wrong.Ok);
        Assert.Contains("not the host key given", wrong.Message);
    }

    [Fact]
    public async Task A_flipped_byte_a_removed_line_an_inserted_line_and_a_cut_tail_are_each_named()
    {
        await WriteAsync(25);
        string file = AuditChain.DayFiles(AuditDir).Single();
        var lines = Lines();
        string copy = Path.Combine(_dir, "copy");

        AuditVerification Check(List<string> changed)
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, true);
            Directory.CreateDirectory(copy);
            File.WriteAllLines(Path.Combine(copy, Path.GetFileName(file)), changed);
            File.Copy(Path.Combine(AuditDir, AuditChain.HeadFile), Path.Combine(copy, AuditChain.HeadFile));
            return new AuditVerifier(_identity.SigningPublicKey).Verify([copy]);
        }

        // Flip one byte inside line 8's parameters (a digit: still JSON, still a record).
        var flipped = lines.ToList();
        int at = flipped[7].IndexOf("\"i\":\"", StringComparison.Ordinal) + 5;
        flipped[7] = flipped[7][..at] + (flipped[7][at] == '9' ? '8' : (char)(flipped[7][at] + 1)) + flipped[7][(at + 1)..];
        var r = Check(flipped);
        Assert.False(r.Ok);
        Assert.Equal(8, r.BadLine);
        Assert.Equal(8, r.BadSeq);
        Assert.Contains("was changed", r.Message);

        var removed = lines.ToList();
        removed.RemoveAt(11);
        r = Check(removed);
        Assert.False(r.Ok);
        Assert.Equal(12, r.BadSeq);
        Assert.Contains("removed", r.Message);

        // A copy of an earlier line put in (its seq is out of order).
        var inserted = lines.ToList();
        inserted.Insert(15, lines[4]);
        r = Check(inserted);
        Assert.False(r.Ok);
        Assert.Equal(16, r.BadLine);
        Assert.Contains("inserted", r.Message);

        // Cut the tail back past the last checkpoint: the head file still names it.
        int lastCheckpoint = lines.FindLastIndex(l => l.Contains("\"checkpoint\":", StringComparison.Ordinal));
        r = Check(lines.Take(lastCheckpoint - 3).ToList());
        Assert.False(r.Ok);
        Assert.Contains("cut from the tail", r.Message);
        Assert.Equal(lastCheckpoint - 2, r.BadSeq);

        // A tail cut inside a record.
        File.WriteAllText(Path.Combine(copy, Path.GetFileName(file)), string.Join("\n", lines) + "\n" + lines[3][..20]);
        r = new AuditVerifier(_identity.SigningPublicKey).Verify([Path.Combine(copy, Path.GetFileName(file))]);
        Assert.False(r.Ok);
        Assert.Contains("incomplete", r.Message);
    }

    [Fact]
    public async Task A_crafted_insert_with_the_right_seq_and_prev_is_named()
    {
        await WriteAsync(12);
        var lines = Lines();
        // Line 6 (seq 6) follows seq 5: a forger who copies the chain rule makes a line with seq 6 and Prev = hash(line 5).
        var forged = System.Text.Json.JsonSerializer.Deserialize(lines[5], AuditJson.Default.AuditRecord)! with
            { Action = "POST /v1/trust", Prev = AuditChain.Hash(Encoding.UTF8.GetBytes(lines[4])) };
        lines.Insert(5, System.Text.Json.JsonSerializer.Serialize(forged, AuditJson.Default.AuditRecord));
        string file = Path.Combine(_dir, "forged.jsonl");
        File.WriteAllLines(file, lines);
        var r = Verify(file);
        Assert.False(r.Ok);
        Assert.Equal(6, r.BadLine);
        Assert.Contains("was inserted", r.Message);
    }

    [Fact]
    public async Task A_torn_last_line_is_cut_at_start_recorded_and_the_chain_goes_on()
    {
        await WriteAsync(5);
        string file = AuditChain.DayFiles(AuditDir).Single();
        File.AppendAllText(file, "{\"seq\":99,\"time\":\"2026-"); // a crash inside a write
        Assert.False(Verify().Ok);

        await WriteAsync(3);
        var r = Verify();
        Assert.True(r.Ok, r.Message);
        var started = Lines().Where(l => l.Contains("daemon.started", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, started.Count);
        Assert.Contains("torn tail was cut", started[1]);
        Assert.Contains("cut 23 bytes", started[1]);
    }

    [Fact]
    public async Task Retention_removes_old_days_and_the_chain_carries_on_in_the_files_kept()
    {
        Directory.CreateDirectory(AuditDir);
        await WriteAsync(4);
        // Yesterday's and an old day's file (renamed from real records: the chain runs old -> yesterday -> today).
        string today = AuditChain.DayFiles(AuditDir).Single();
        File.Move(today, Path.Combine(AuditDir, "2001-01-01.jsonl"));
        await WriteAsync(4, o => o.RetentionDays = 36500);
        File.Move(AuditChain.DayFiles(AuditDir).Last(), Path.Combine(AuditDir, "2001-01-02.jsonl"));
        Assert.True(Verify().Ok);

        await WriteAsync(2, o => o.RetentionDays = 30);
        var files = AuditChain.DayFiles(AuditDir).Select(Path.GetFileName).ToList();
        Assert.Equal([AuditChain.FileName(DateTimeOffset.UtcNow)], files);
        var r = Verify();
        Assert.True(r.Ok, r.Message);
        Assert.Contains(r.Notes, n => n.Contains("earlier records are not in these files", StringComparison.Ordinal));
        Assert.Contains(Lines(), l => l.Contains("audit.retention", StringComparison.Ordinal) && l.Contains("2001-01-01.jsonl,2001-01-02.jsonl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_systemd_each_record_goes_to_the_journal_socket_as_native_protocol_fields()
    {
        string path = Path.Combine(_dir, "journal.sock");
        using var journal = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        journal.Bind(new UnixDomainSocketEndPoint(path));
        await WriteAsync(1, o => (o.Journal, o.JournalSocket) = ("on", path));

        var entries = new List<Dictionary<string, string>>();
        var buffer = new byte[65536];
        while (journal.Available > 0)
        {
            int n = journal.Receive(buffer);
            entries.Add(Encoding.UTF8.GetString(buffer, 0, n).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]));
        }
        var pause = Assert.Single(entries, e => e["ACTION"] == "POST /v1/workspaces/{name}/pause");
        Assert.Equal("web0", pause["WORKSPACE"]);
        Assert.Equal("1000", pause["ACTOR_UID"]);
        Assert.Equal("202", pause["AUDIT_STATUS"]);
        Assert.Equal("workspacesd", pause["SYSLOG_IDENTIFIER"]);
        Assert.Contains(entries, e => e["ACTION"] == "daemon.started");
    }

    [Fact]
    public void A_value_with_a_newline_goes_in_the_binary_form()
    {
        byte[] datagram = Workspaces.Daemon.Systemd.JournalSink.Format([new("MESSAGE", "a\nb"), new("ACTION", "x")]);
        byte[] expected = [.. "MESSAGE\n"u8, 3, 0, 0, 0, 0, 0, 0, 0, .. "a\nb\n"u8, .. "ACTION=x\n"u8];
        Assert.Equal(expected, datagram);
    }
}
