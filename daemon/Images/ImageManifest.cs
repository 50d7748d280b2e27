using System.Text.Json;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Images;

/// <summary>
/// What an image is and where it came from, in one canonical JSON form that signatures cover:
/// UTF-8, no whitespace, keys in ordinal order, every key present (null when absent). The same
/// image always gives the same bytes, on any host; any other byte sequence is refused on import.
/// The parent is named by its fingerprint, so a signature on a delta also pins its whole chain.
/// </summary>
public sealed record ImageManifest(
    string Id,
    string Name,
    string[] Tags,
    string Kind,
    string? Disk,
    string? DiskFormat,
    long? DiskVirtualSize,
    string? Kernel,
    string? Initrd,
    string? Cmdline,
    long Size,
    string? Parent,
    string? OriginWorkspace,
    string? OriginHost,
    string? OriginHostKey,
    bool Encrypted,
    long CreatedAt,
    ImageStatePart? State = null)
{
    public const string FormatName = "workspaces-manifest/1";

    public static ImageManifest From(ImageRow i) => new(
        i.Id, i.Name, i.TagList.Order(StringComparer.Ordinal).ToArray(), i.Kind, i.Disk, i.DiskFormat, i.DiskVirtualSize,
        i.Kernel, i.Initrd, i.Cmdline, i.Size, i.Parent, i.OriginWorkspace, i.OriginHost, i.OriginHostKey, i.Encrypted, i.CreatedAt,
        i.State is null ? null : new ImageStatePart(i.State, i.StateFormat!, i.StateMemoryMib ?? 0, i.StateVcpus ?? 0));

    public ImageRow ToRow() => new()
    {
        Id = Id, Name = Name, Tags = string.Join(' ', Tags), Kind = Kind, Disk = Disk, DiskFormat = DiskFormat,
        DiskVirtualSize = DiskVirtualSize, Kernel = Kernel, Initrd = Initrd, Cmdline = Cmdline, Size = Size, Parent = Parent,
        OriginWorkspace = OriginWorkspace, OriginHost = OriginHost, OriginHostKey = OriginHostKey, Encrypted = Encrypted,
        CreatedAt = CreatedAt,
        State = State?.Sha256, StateFormat = State?.Format, StateMemoryMib = State?.MemoryMib, StateVcpus = State?.Vcpus,
    };

    /// <summary>The bytes signatures are made over.</summary>
    public byte[] ToCanonicalJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, SkipValidation = false }))
        {
            w.WriteStartObject();
            w.WriteString("cmdline", Cmdline);
            w.WriteNumber("createdAt", CreatedAt);
            w.WriteBoolean("encrypted", Encrypted);
            w.WriteString("format", FormatName);
            w.WriteString("id", Id);
            w.WriteString("kind", Kind);
            w.WriteString("name", Name);
            w.WriteStartObject("origin");
            w.WriteString("host", OriginHost);
            w.WriteString("hostKey", OriginHostKey);
            w.WriteString("workspace", OriginWorkspace);
            w.WriteEndObject();
            w.WriteString("parent", Parent);
            w.WriteStartObject("parts");
            if (Disk is null) w.WriteNull("disk");
            else
            {
                w.WriteStartObject("disk");
                w.WriteString("format", DiskFormat);
                w.WriteString("sha256", Disk);
                if (DiskVirtualSize is { } v) w.WriteNumber("virtualSize", v); else w.WriteNull("virtualSize");
                w.WriteEndObject();
            }
            w.WriteString("initrd", Initrd);
            w.WriteString("kernel", Kernel);
            // A template's RAM: present only then, so every other image's manifest keeps its bytes (and signatures).
            if (State is { } state)
            {
                w.WriteStartObject("state");
                w.WriteString("format", state.Format);
                w.WriteNumber("memoryMib", state.MemoryMib);
                w.WriteString("sha256", state.Sha256);
                w.WriteNumber("vcpus", state.Vcpus);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteNumber("size", Size);
            w.WriteStartArray("tags");
            foreach (var tag in Tags) w.WriteStringValue(tag);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a manifest from an archive: it must be canonical and its id must be its parts' fingerprint.</summary>
    public static ImageManifest Parse(ReadOnlySpan<byte> json)
    {
        ImageManifest manifest;
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var r = doc.RootElement;
            if (r.GetProperty("format").GetString() != FormatName)
                throw WorkspacesException.Unprocessable($"not a {FormatName} manifest");
            var origin = r.GetProperty("origin");
            var parts = r.GetProperty("parts");
            var disk = parts.GetProperty("disk");
            bool hasDisk = disk.ValueKind == JsonValueKind.Object;
            manifest = new ImageManifest(
                Id: r.GetProperty("id").GetString()!,
                Name: r.GetProperty("name").GetString()!,
                Tags: r.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).ToArray(),
                Kind: r.GetProperty("kind").GetString()!,
                Disk: hasDisk ? disk.GetProperty("sha256").GetString() : null,
                DiskFormat: hasDisk ? disk.GetProperty("format").GetString() : null,
                DiskVirtualSize: hasDisk && disk.GetProperty("virtualSize").ValueKind == JsonValueKind.Number ? disk.GetProperty("virtualSize").GetInt64() : null,
                Kernel: parts.GetProperty("kernel").GetString(),
                Initrd: parts.GetProperty("initrd").GetString(),
                Cmdline: r.GetProperty("cmdline").GetString(),
                Size: r.GetProperty("size").GetInt64(),
                Parent: r.GetProperty("parent").GetString(),
                OriginWorkspace: origin.GetProperty("workspace").GetString(),
                OriginHost: origin.GetProperty("host").GetString(),
                OriginHostKey: origin.GetProperty("hostKey").GetString(),
                Encrypted: r.GetProperty("encrypted").GetBoolean(),
                CreatedAt: r.GetProperty("createdAt").GetInt64(),
                State: parts.TryGetProperty("state", out var st) ? new ImageStatePart(st.GetProperty("sha256").GetString()!,
                    st.GetProperty("format").GetString()!, st.GetProperty("memoryMib").GetInt32(), st.GetProperty("vcpus").GetInt32()) : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw WorkspacesException.Unprocessable($"an image manifest is malformed: {e.Message}");
        }
        if (!manifest.ToCanonicalJson().AsSpan().SequenceEqual(json))
            throw WorkspacesException.Unprocessable($"the manifest of '{manifest.Name}' is not in canonical form, so its signatures cannot be checked");
        if (manifest.Id != ImageFingerprint.Compute(manifest.Kernel, manifest.Initrd, manifest.Disk, manifest.DiskFormat, manifest.Cmdline, manifest.State?.Sha256))
            throw WorkspacesException.Unprocessable($"the manifest of '{manifest.Name}' names fingerprint {manifest.Id[..12]}, which its parts do not give");
        return manifest;
    }
}
