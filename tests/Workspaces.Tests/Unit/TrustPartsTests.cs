using Workspaces.Daemon.Core;
using System.Text;
using System.Text.Json.Nodes;
using NSec.Cryptography;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Tests.Unit;

public sealed class TrustPartsTests
{
    private static ImageManifest Sample() => ImageManifest.From(new ImageRow
    {
        Id = ImageFingerprint.Compute("k".PadRight(64, '1'), null, "d".PadRight(64, '2'), "qcow2", "console=ttyS0 <x>"),
        Name = "web", Kind = "bootset", Kernel = "k".PadRight(64, '1'), Disk = "d".PadRight(64, '2'), DiskFormat = "qcow2",
        DiskVirtualSize = 1 << 26, Cmdline = "console=ttyS0 <x>", Size = 1234, CreatedAt = 1_700_000_000_000, Tags = "stable beta",
        Parent = new string('a', 64), OriginWorkspace = "w1", OriginHost = "h", OriginHostKey = "ed25519:AAAA", Encrypted = true,
    });

    [Fact]
    public void Manifest_is_canonical_and_round_trips()
    {
        byte[] canonical = Sample().ToCanonicalJson();
        string text = Encoding.UTF8.GetString(canonical);
        Assert.DoesNotContain(" \"", text); // no whitespace between tokens
        Assert.StartsWith("{\"cmdline\":", text);
        Assert.Contains("\"tags\":[\"beta\",\"stable\"]", text); // sorted
        var parsed = ImageManifest.Parse(canonical);
        Assert.Equal(canonical, parsed.ToCanonicalJson());
        Assert.Equal(Sample() with { Tags = [] }, parsed with { Tags = [] });
    }

    [Fact]
    public void A_template_manifest_names_its_ram_state_and_the_fingerprint_covers_it()
    {
        const string ram = "5555555555555555555555555555555555555555555555555555555555555555";
        var plain = Sample();
        var template = plain with
        {
            Id = ImageFingerprint.Compute(plain.Kernel, plain.Initrd, plain.Disk, plain.DiskFormat, plain.Cmdline, ram),
            State = new ImageStatePart(ram, "qemu-migration+zstd/1", 256, 1),
        };
        string text = Encoding.UTF8.GetString(template.ToCanonicalJson());
        Assert.Contains("\"state\":{\"format\":\"qemu-migration", text); // inside parts, keys in order
        Assert.Contains($"zstd/1\",\"memoryMib\":256,\"sha256\":\"{ram}\",\"vcpus\":1}}}},\"size\"", text);
        Assert.Equal(template, ImageManifest.Parse(template.ToCanonicalJson()) with { Tags = template.Tags });
        Assert.Equal(ram, ImageManifest.Parse(template.ToCanonicalJson()).ToRow().Blobs.Last());
        // An image without RAM keeps the manifest bytes it always had: no state key at all.
        Assert.DoesNotContain("\"state\"", Encoding.UTF8.GetString(plain.ToCanonicalJson()));
        // Another RAM under the same id is refused: the fingerprint covers the state.
        var swapped = template with { State = template.State with { Sha256 = new string('6', 64) } };
        Assert.Contains("fingerprint", Assert.Throws<WorkspacesException>(() => ImageManifest.Parse(swapped.ToCanonicalJson())).Message);
    }

    [Fact]
    public void Manifest_parse_refuses_non_canonical_forms_and_wrong_fingerprints()
    {
        string text = Encoding.UTF8.GetString(Sample().ToCanonicalJson());
        var spaced = Assert.Throws<WorkspacesException>(() => ImageManifest.Parse(Encoding.UTF8.GetBytes(text.Replace(":", ": "))));
        Assert.Contains("canonical", spaced.Message);
        var renamed = Sample() with { Disk = "e".PadRight(64, '2') };
        var forged = Assert.Throws<WorkspacesException>(() => ImageManifest.Parse(renamed.ToCanonicalJson()));
        Assert.Contains("fingerprint", forged.Message);
    }

    [Fact]
    public void A_signature_verifies_only_over_the_exact_manifest()
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        byte[] canonical = Sample().ToCanonicalJson();
        var signature = new SignatureRow("x", KeyText.Format(key.PublicKey), Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(key, canonical)), 0);
        Assert.True(TrustPolicy.IsValid(signature, canonical));
        Assert.False(TrustPolicy.IsValid(signature, (Sample() with { Name = "web2" }).ToCanonicalJson()));
        Assert.False(TrustPolicy.IsValid(signature with { Signer = KeyText.Format(Key.Create(SignatureAlgorithm.Ed25519).PublicKey) }, canonical));
    }

    [Fact]
    public void Public_keys_parse_from_our_text_and_from_pem()
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        string text = KeyText.Format(key.PublicKey);
        string pem = Encoding.ASCII.GetString(key.PublicKey.Export(KeyBlobFormat.PkixPublicKeyText));
        Assert.Equal(text, KeyText.NormalizeSigning(pem));
        Assert.StartsWith("SHA256:", KeyText.Fingerprint(text));
        Assert.Throws<WorkspacesException>(() => KeyText.ParseSigning("x25519:" + text[8..]));
        Assert.Throws<WorkspacesException>(() => KeyText.ParseSigning("ed25519:not-base64!"));
    }

    [Fact]
    public void A_sealed_chain_opens_every_sealed_layer_with_the_one_secret()
    {
        var chain = new DiskChain([new DiskLayer("/base,1", "raw", false)]).On(new DiskLayer("/mid", "qcow2", true)).On(new DiskLayer("/top", "qcow2", true));
        Assert.True(chain.Sealed);
        Assert.Equal("driver=qcow2,file.filename=/top,encrypt.key-secret=s,backing.driver=qcow2,backing.file.filename=/mid,backing.encrypt.key-secret=s," +
                     "backing.backing.driver=raw,backing.backing.file.filename=/base,,1", chain.ImageOpts("s"));

        var node = BlockGraph.Build(chain, "disk0", "s");
        Assert.Equal("disk0", (string?)node["node-name"]);
        Assert.Equal("s", (string?)node["encrypt"]!["key-secret"]);
        var mid = node["backing"]!.AsObject();
        Assert.True((bool)mid["read-only"]!);
        Assert.Equal("s", (string?)mid["encrypt"]!["key-secret"]);
        var bottom = mid["backing"]!.AsObject();
        Assert.Equal("raw", (string?)bottom["driver"]);
        Assert.False(bottom.ContainsKey("encrypt"));
        Assert.False(bottom.ContainsKey("backing")); // raw has no backing at all
    }
}
