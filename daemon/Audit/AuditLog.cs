using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Workspaces.Client;
using Workspaces.Client.Audit;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Systemd;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Audit;

/// <summary>
/// The one writer of the audit log. Anyone records through a bounded queue (a full queue makes an API
/// request wait, never drops a record); one background loop gives each record its seq and the hash of the
/// line before, appends it, and fsyncs once per batch: whatever arrived while the last fsync ran goes
/// in the next, so a crash loses at most the records of one flush window. Every N records or T seconds a
/// checkpoint signs the chain head with the host's Ed25519 key. At start the chain resumes from the last
/// complete line (a torn tail is cut and the cut recorded), and a start record plus a checkpoint seal it.
/// </summary>
public sealed class AuditLog : IHostedService, IAuditRecorder
{
    private readonly Channel<AuditEntry> _queue = Channel.CreateBounded<AuditEntry>(
        new BoundedChannelOptions(8192) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly AuditOptions _options;
    private readonly HostIdentity _identity;
    private readonly AuditFiles _files;
    private readonly ILogger<AuditLog> _logger;
    private readonly JournalSink? _journal;
    private Task? _writer;
    private FileStream? _file;
    private string? _fileName;
    private long _seq;
    private string _prev = AuditChain.Genesis;
    private long _sinceCheckpoint;
    private byte[]? _head; // the last checkpoint's line, until the flush that makes it durable
    private readonly Stopwatch _checkpointClock = new();

    public AuditLog(IOptions<WorkspacesOptions> options, HostIdentity identity, ILogger<AuditLog> logger)
    {
        _options = options.Value.Audit;
        _identity = identity;
        _logger = logger;
        _files = new AuditFiles(Path.Combine(options.Value.StateDir, "audit"), logger);
        bool journal = _options.Journal == "on" || (_options.Journal == "auto" && JournalSink.UnderSystemd && File.Exists(_options.JournalSocket));
        if (journal) _journal = new JournalSink(_options.JournalSocket);
    }

    public bool Enabled => _options.Enabled;

    public string Directory => _files.Directory;

    /// <summary>The seq of the last record on disk (fsync'd).</summary>
    public long DurableSeq { get; private set; }

    /// <summary>Queues a record; waits only when the queue is full (the writer is behind by thousands).</summary>
    public ValueTask RecordAsync(AuditEntry entry) => Enabled ? _queue.Writer.WriteAsync(entry) : ValueTask.CompletedTask;

    /// <summary>Queues a record from code that cannot wait (event handlers, the daemon's own decisions).</summary>
    public void Record(AuditEntry entry)
    {
        if (Enabled && !_queue.Writer.TryWrite(entry)) _ = _queue.Writer.WriteAsync(entry).AsTask();
    }

    public void Decided(string action, string? target, uint? owner, IReadOnlyDictionary<string, string>? parameters = null,
        int status = 200, string? reason = null, uint? actorUid = null) =>
        Record(AuditEntry.ByDaemon(action, target, owner, parameters is null ? null : new Dictionary<string, string>(parameters), status, reason)
            with { Actor = actorUid is { } uid ? new AuditActor(uid, "socket") : AuditEntry.Daemon });

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled) return Task.CompletedTask;
        _files.Prepare();
        var (seq, prev, repairs) = _files.Resume();
        (_seq, _prev, DurableSeq) = (seq, prev, seq);
        AuditLogMessages.Resumed(_logger, seq, _files.Directory);
        var started = new Dictionary<string, string> { ["resumedAfterSeq"] = seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (repairs.Count > 0) started["repaired"] = string.Join("; ", repairs);
        // Written before anything else this run records, and sealed by a checkpoint at once.
        _queue.Writer.TryWrite(AuditEntry.ByDaemon("daemon.started", null, null, started,
            reason: repairs.Count > 0 ? "the last run ended inside a write: its torn tail was cut" : null));
        _writer = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_writer is null) return;
        _queue.Writer.TryWrite(AuditEntry.ByDaemon("daemon.stopping", null, null, null));
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        bool first = true;
        while (true)
        {
            try
            {
                if (!await WaitAsync(reader)) break;
                int batch = 0;
                while (batch < 4096 && reader.TryRead(out var entry))
                {
                    Append(entry, null);
                    batch++;
                    if (first || ++_sinceCheckpoint >= _options.CheckpointEveryRecords) Checkpoint();
                    first = false;
                }
                if (_sinceCheckpoint > 0 && _checkpointClock.Elapsed.TotalSeconds >= _options.CheckpointEverySeconds) Checkpoint();
                Flush();
            }
            catch (IOException e)
            {
                AuditLogMessages.WriteFailed(_logger, e);
                await Task.Delay(1000);
            }
        }
        if (_sinceCheckpoint > 0) Checkpoint();
        Flush();
        _file?.Dispose();
        _journal?.Dispose();
    }

    /// <summary>True when records wait; on the checkpoint deadline with none waiting, true as well (the caller checkpoints).</summary>
    private async Task<bool> WaitAsync(ChannelReader<AuditEntry> reader)
    {
        if (_sinceCheckpoint == 0) return await reader.WaitToReadAsync();
        var left = TimeSpan.FromSeconds(_options.CheckpointEverySeconds) - _checkpointClock.Elapsed;
        if (left <= TimeSpan.Zero) return true;
        using var deadline = new CancellationTokenSource(left);
        try
        {
            return await reader.WaitToReadAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    private byte[] Append(AuditEntry entry, AuditCheckpoint? checkpoint)
    {
        string day = AuditChain.FileName(entry.Time);
        if (day != _fileName) OpenDay(day, entry.Time);
        var record = new AuditRecord(_seq + 1, entry.Time, entry.Actor, entry.Action, entry.Target, entry.Owner, entry.Params, entry.Outcome, _prev, checkpoint);
        byte[] line = JsonSerializer.SerializeToUtf8Bytes(record, AuditJson.Default.AuditRecord);
        _file!.Write(line);
        _file.WriteByte((byte)'\n');
        _seq = record.Seq;
        _prev = AuditChain.Hash(line);
        if (checkpoint is null && _journal is not null) _journal.TrySend(AuditJournal.Fields(record));
        return line;
    }

    private void Checkpoint()
    {
        var checkpoint = new AuditCheckpoint(_seq, _prev, _identity.SigningPublicKey,
            Convert.ToBase64String(_identity.Sign(AuditChain.CheckpointMessage(_seq, _prev))));
        // Made durable with the batch it ends, not on its own: a burst's checkpoints would each cost an fsync
        // (and head.json another), and the batch's records would wait for all of them, widening what a crash loses.
        _head = Append(AuditEntry.ByDaemon("audit.checkpoint", null, null, null), checkpoint);
        _sinceCheckpoint = 0;
        _checkpointClock.Restart();
    }

    private void Flush()
    {
        if (_file is null) return;
        _file.Flush(flushToDisk: true);
        DurableSeq = _seq;
        // head.json names the last checkpoint only once that checkpoint is on disk.
        if (_head is not null) _files.WriteHead(_head);
        _head = null;
    }

    /// <summary>A new UTC day: a new file, the chain carrying on; then retention, itself recorded.</summary>
    private void OpenDay(string day, DateTimeOffset now)
    {
        Flush();
        _file?.Dispose();
        _file = _files.Open(day);
        _fileName = day;
        var removed = _files.ApplyRetention(day, now, _options.RetentionDays, _options.RetentionBytes);
        if (removed.Count > 0)
            Append(AuditEntry.ByDaemon("audit.retention", null, null, new() { ["removed"] = string.Join(",", removed) }), null);
    }
}
