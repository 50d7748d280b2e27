using Workspaces.Daemon.Core;
using System.Formats.Tar;
using System.Text.Json;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// One tar archive holding an image with its parent chain: archive.json (format, top image, chain),
/// then per image manifests/ID.json (canonical), signatures/ID.json and keys/ID.json (sealed disk
/// keys), then blobs/SHA256. Import trusts nothing in it: manifests must be canonical and match
/// their fingerprints, blobs must hash to their names; then ChainImport checks the chain as it checks
/// one pulled from peers (signatures verify, deltas sit on their parents) and registers nothing until
/// all of it holds.
/// </summary>
public sealed class ImageArchive(ImageService images, ImageStore store, ImageRepository rows, ChainImport chains)
{
    public const string FormatName = "workspaces-archive/1";
    private const string Refusal = "the image archive is refused";
    private const int MaxMetadataBytes = 1 << 20;

    public async Task ExportAsync(ImageRow image, Stream output, CancellationToken ct)
    {
        var chain = images.Chain(image).Reverse().ToList(); // base first: an importer can register in order
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await WriteAsync(tar, "archive.json", Json(w =>
        {
            w.WriteString("format", FormatName);
            w.WriteString("image", image.Id);
            w.WriteStartArray("chain");
            foreach (var link in chain) w.WriteStringValue(link.Id);
            w.WriteEndArray();
        }), ct);
        foreach (var link in chain)
        {
            await WriteAsync(tar, $"manifests/{link.Id}.json", images.CanonicalManifest(link), ct);
            await WriteAsync(tar, $"signatures/{link.Id}.json", JsonArray(rows.Signatures(link.Id), (w, s) =>
            {
                w.WriteString("signer", s.Signer);
                w.WriteString("signature", s.Signature);
                w.WriteNumber("signedAt", s.SignedAt);
            }), ct);
            await WriteAsync(tar, $"keys/{link.Id}.json", JsonArray(rows.Keys(link.Id), (w, k) =>
            {
                w.WriteString("recipient", k.Recipient);
                w.WriteString("sealed", k.Sealed);
            }), ct);
        }
        foreach (var sha in chain.SelectMany(l => l.Blobs).Distinct())
        {
            await using var blob = new FileStream(store.BlobPath(sha), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, $"blobs/{sha}") { DataStream = blob, Mode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead }, ct);
        }
    }

    /// <summary>Reads an archive, checks all of it, then registers the chain base first; returns the top image.</summary>
    public async Task<ImageRow> ImportAsync(Stream input, CancellationToken ct)
    {
        var staged = new Dictionary<string, StagedBlob>();
        var manifests = new Dictionary<string, ImageManifest>();
        var signatures = new Dictionary<string, List<SignatureRow>>();
        var sealedKeys = new Dictionary<string, List<ImageKeyRow>>();
        string? top = null;
        try
        {
            await using var tar = new TarReader(input, leaveOpen: true);
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is TarEntryType.Directory) continue;
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                    throw Bad($"entry {Names.Quote(entry.Name)} is not a regular file");
                var (kind, id) = Split(entry.Name);
                switch (kind)
                {
                    case "archive.json":
                        top = ReadHeader(await ReadSmallAsync(entry, ct));
                        break;
                    case "manifests":
                        var manifest = ImageManifest.Parse(await ReadSmallAsync(entry, ct));
                        if (manifest.Id != id) throw Bad($"manifests/{id}.json describes image {manifest.Id[..12]}");
                        manifests[id] = manifest;
                        break;
                    case "signatures":
                        signatures[id] = ReadArray(await ReadSmallAsync(entry, ct), e => new SignatureRow(id,
                            e.GetProperty("signer").GetString()!, e.GetProperty("signature").GetString()!, e.GetProperty("signedAt").GetInt64()));
                        break;
                    case "keys":
                        sealedKeys[id] = ReadArray(await ReadSmallAsync(entry, ct), e => new ImageKeyRow(id,
                            e.GetProperty("recipient").GetString()!, Convert.ToBase64String(e.GetProperty("sealed").GetBytesFromBase64())));
                        break;
                    case "blobs":
                        var blob = await store.StageAsync(entry.DataStream, null, ct);
                        staged[blob.Sha256] = blob;
                        if (blob.Sha256 != id) throw Bad($"blob {id[..12]} hashes to {blob.Sha256[..12]}: the archive is damaged");
                        break;
                    default:
                        throw Bad($"unexpected entry {Names.Quote(entry.Name)}");
                }
            }
            if (top is null) throw Bad("it has no archive.json, so it is not a Workspaces image archive");
            return await chains.ImportAsync(new ChainMetadata(top, manifests, signatures, sealedKeys), staged, Refusal, ct);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw Bad($"it is not a tar archive, or a damaged one ({e.Message})");
        }
        finally
        {
            foreach (var blob in staged.Values) File.Delete(blob.Path);
        }
    }

    private static (string Kind, string Id) Split(string name)
    {
        if (name == "archive.json") return (name, "");
        var parts = name.Split('/');
        if (parts.Length != 2) throw Bad($"unexpected entry {Names.Quote(name)}");
        string id = parts[0] == "blobs" ? parts[1] : parts[1].EndsWith(".json", StringComparison.Ordinal) ? parts[1][..^5] : "";
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower)) throw Bad($"entry {Names.Quote(name)} is not named by a SHA-256");
        return (parts[0], id);
    }

    private static async Task<byte[]> ReadSmallAsync(TarEntry entry, CancellationToken ct)
    {
        if (entry.Length > MaxMetadataBytes) throw Bad($"entry '{entry.Name}' is too large for metadata ({entry.Length} bytes)");
        var bytes = new byte[entry.Length];
        await entry.DataStream!.ReadExactlyAsync(bytes, ct);
        return bytes;
    }

    private static string ReadHeader(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.GetProperty("format").GetString() != FormatName) throw Bad($"its format is not {FormatName}");
            return doc.RootElement.GetProperty("image").GetString()!;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw Bad($"archive.json is malformed: {e.Message}");
        }
    }

    private static List<T> ReadArray<T>(byte[] json, Func<JsonElement, T> read)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.EnumerateArray().Select(read).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Bad($"a metadata entry is malformed: {e.Message}");
        }
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static byte[] JsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> item)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var i in items)
            {
                w.WriteStartObject();
                item(w, i);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return buffer.ToArray();
    }

    private static async Task WriteAsync(TarWriter tar, string name, byte[] content, CancellationToken ct) =>
        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(content),
            Mode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        }, ct);

    private static WorkspacesException Bad(string why) => WorkspacesException.Unprocessable($"{Refusal}: {why}");
}
