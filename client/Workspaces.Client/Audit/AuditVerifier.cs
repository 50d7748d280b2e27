using System.Text.Json;
using NSec.Cryptography;

namespace Workspaces.Client.Audit;

/// <summary>
/// Checks an audit log offline: each line's Prev is the hash of the line before it, seqs follow one
/// another, and every checkpoint's signature verifies with the host's key. It stops at the first record
/// that was changed, removed or inserted and names it (file, line, seq).
/// What a chain cannot show: whole records cut from the end after the last checkpoint leave a shorter
/// log that is still a valid chain. The head file (the latest checkpoint, kept beside the day files)
/// catches a cut back past it; records after the newest checkpoint are chained but not yet signed.
/// </summary>
public sealed class AuditVerifier
{
    private readonly PublicKey? _hostKey;
    private readonly string? _hostKeyText;
    private readonly List<string> _notes = [];
    private readonly Dictionary<long, string> _checkpointHashes = [];
    private long _records, _checkpoints;
    private long? _firstSeq, _lastSeq, _lastCheckpointSeq;
    private string? _prevHash, _prevPrevHash, _prevFile;
    private int _prevLine;
    private PublicKey? _namedKey;

    /// <param name="hostKeyText">"ed25519:BASE64": the host's signing key; without it the key the checkpoints name is used (and the report says so).</param>
    public AuditVerifier(string? hostKeyText)
    {
        if (hostKeyText is null) return;
        _hostKey = AuditChain.ParseKey(hostKeyText) ?? throw new ArgumentException($"'{hostKeyText}' is not an Ed25519 key: give ed25519:BASE64, as `ws host` shows it");
        _hostKeyText = hostKeyText.Trim();
    }

    /// <summary>Files in chain order (day files sort by name); a directory stands for its day files and its head file.</summary>
    public AuditVerification Verify(IEnumerable<string> paths)
    {
        var files = new List<string>();
        string? head = null;
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                files.AddRange(AuditChain.DayFiles(path));
                string h = Path.Combine(path, AuditChain.HeadFile);
                if (File.Exists(h)) head = h;
            }
            else if (Path.GetFileName(path) == AuditChain.HeadFile) head = path;
            else files.Add(path);
        }
        if (files.Count == 0) return Result(false, null, null, null, "no audit files to check");
        foreach (var file in files)
            if (CheckFile(file) is { } bad) return bad;
        if (head is not null && CheckHead(head) is { } cut) return cut;
        if (_lastCheckpointSeq is not { } c)
            _notes.Add("no checkpoint: nothing is signed; the chain shows only that lines were not changed relative to one another");
        else if (_lastSeq > c)
            _notes.Add($"seq {c + 1}..{_lastSeq} follow the last checkpoint: chained but not yet signed, so whole records cut after seq {c} cannot be told from the files alone");
        if (_hostKey is null && _checkpoints > 0)
            _notes.Add("checkpoints were checked against the key they name; give --host-key to check that it is the host's");
        return Result(true, null, null, null, $"{_records} records (seq {_firstSeq}..{_lastSeq}), {_checkpoints} checkpoints: the chain holds");
    }

    private AuditVerification? CheckFile(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        int start = 0, line = 0;
        while (start < bytes.Length)
        {
            line++;
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
                return Bad(file, line, _lastSeq + 1, $"{file}:{line} is incomplete (no newline): the file was cut inside a record, after seq {_lastSeq}");
            var text = bytes.AsSpan(start, end - start);
            start = end + 1;
            if (CheckLine(file, line, text) is { } bad) return bad;
        }
        return null;
    }

    private AuditVerification? CheckLine(string file, int line, ReadOnlySpan<byte> text)
    {
        AuditRecord? record;
        try
        {
            record = JsonSerializer.Deserialize(text, AuditJson.Default.AuditRecord);
        }
        catch (JsonException e)
        {
            record = null;
            _notes.Add($"{file}:{line}: {e.Message}");
        }
        if (record is null)
            return Bad(file, line, _lastSeq + 1, $"{file}:{line} (after seq {_lastSeq}) is not an audit record: it was changed or inserted");
        string hash = AuditChain.Hash(text);
        string at = $"{file}:{line} (seq {record.Seq})";

        if (_lastSeq is not { } prevSeq)
        {
            if (record.Prev == AuditChain.Genesis && record.Seq != 1)
                return Bad(file, line, record.Seq, $"{at} claims to start the chain but is not seq 1");
            if (record.Prev != AuditChain.Genesis)
                _notes.Add($"the chain starts at seq {record.Seq}: earlier records are not in these files (retention, or a partial copy); checked from there");
            _firstSeq = record.Seq;
        }
        else if (record.Seq > prevSeq + 1)
            return Bad(file, line, prevSeq + 1, $"seq {prevSeq + 1}..{record.Seq - 1} were removed: {at} follows seq {prevSeq} at {_prevFile}:{_prevLine}");
        else if (record.Seq <= prevSeq)
        {
            // A line crafted to fit (next seq, right Prev) shows only here: the original's Prev skips it.
            return record.Prev == _prevPrevHash
                ? Bad(_prevFile!, _prevLine, prevSeq, $"{_prevFile}:{_prevLine} (seq {prevSeq}) was inserted: {at} chains to the record before it")
                : Bad(file, line, record.Seq, $"{at} was inserted: it repeats a seq at or below {prevSeq} ({_prevFile}:{_prevLine})");
        }
        else if (record.Prev != _prevHash)
            return Bad(_prevFile!, _prevLine, prevSeq,
                $"{_prevFile}:{_prevLine} (seq {prevSeq}) was changed: its hash is not the Prev that {at} records (or that Prev was changed)");

        if (record.Checkpoint is { } checkpoint)
        {
            if (CheckCheckpoint(record, checkpoint) is { } why) return Bad(file, line, record.Seq, $"checkpoint {at}: {why}");
            _checkpoints++;
            _lastCheckpointSeq = record.Seq;
            _checkpointHashes[record.Seq] = hash;
        }
        _records++;
        (_prevPrevHash, _prevHash, _lastSeq, _prevFile, _prevLine) = (_prevHash, hash, record.Seq, file, line);
        return null;
    }

    private string? CheckCheckpoint(AuditRecord record, AuditCheckpoint checkpoint)
    {
        if (checkpoint.Count != record.Seq - 1) return $"it counts {checkpoint.Count} records before it, not {record.Seq - 1}";
        if (checkpoint.Head != record.Prev) return "the head it signs is not its Prev";
        PublicKey? key;
        if (_hostKey is not null)
        {
            if (checkpoint.Key != _hostKeyText) return $"it names key {checkpoint.Key}, not the host key given";
            key = _hostKey;
        }
        else
        {
            key = AuditChain.ParseKey(checkpoint.Key);
            if (key is null) return $"its key {checkpoint.Key} is not an Ed25519 key";
            _namedKey ??= key;
            if (!_namedKey.Equals(key)) _notes.Add($"checkpoint seq {record.Seq} names another key ({checkpoint.Key})");
        }
        return AuditChain.VerifySignature(key, checkpoint.Count, checkpoint.Head, checkpoint.Signature) ? null : "its signature does not verify";
    }

    /// <summary>The head file names the newest checkpoint the writer made: the log must reach it, with that very line.</summary>
    private AuditVerification? CheckHead(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var text = bytes.AsSpan().TrimEnd((byte)'\n');
        AuditRecord? head = null;
        try { head = JsonSerializer.Deserialize(text, AuditJson.Default.AuditRecord); } catch (JsonException) { }
        if (head?.Checkpoint is not { } checkpoint || CheckCheckpoint(head, checkpoint) is { } why)
        {
            _notes.Add($"{path} is not a valid signed checkpoint: ignored");
            return null;
        }
        if (head.Seq > _lastSeq)
            return Bad(path, 1, _lastSeq + 1,
                $"the log ends at seq {_lastSeq} but {path} names checkpoint seq {head.Seq}: seq {_lastSeq + 1}..{head.Seq} (at least) were cut from the tail");
        if (_checkpointHashes.TryGetValue(head.Seq, out string? hash) && hash != AuditChain.Hash(text))
            return Bad(path, 1, head.Seq, $"checkpoint seq {head.Seq} in the log is not the one {path} holds");
        return null;
    }

    private AuditVerification Bad(string file, int line, long? seq, string message) => Result(false, file, line, seq, message);

    private AuditVerification Result(bool ok, string? file, int? line, long? seq, string message) =>
        new(ok, _records, _checkpoints, _firstSeq, _lastSeq, _lastCheckpointSeq, file, line, seq, message, _notes.ToArray());
}
