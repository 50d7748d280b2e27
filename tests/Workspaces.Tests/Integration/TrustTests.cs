using System.Text;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Signatures, the trust policy, sealed images and archives moving between two hosts (two state dirs).</summary>
public sealed class TrustTests
{
    [Fact]
    public async Task RequireSignedImages_refuses_unsigned_and_untrusted_and_admits_trusted()
    {
        Prerequisites.Require("openssl");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["policy"] = new Dictionary<string, object> { ["requireSignedImages"] = true } });
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        string release = await NewKeyAsync(daemon.Dir, "release"), stranger = await NewKeyAsync(daemon.Dir, "stranger");

        var unsigned = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest")));
        Assert.Equal(403, unsigned.Status);
        Assert.Contains("it is unsigned", unsigned.Message);

        var bad = await client.SignImageAsync("guest", new SignImageRequest(await File.ReadAllTextAsync(stranger + ".pem")));
        Assert.True(bad.Valid);
        Assert.Null(bad.TrustedAs);
        var untrusted = await Assert.ThrowsAsync<ApiException>(() => client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest")));
        Assert.Contains("not a trusted key", untrusted.Message);

        var trusted = await client.AddTrustAsync("release", await File.ReadAllTextAsync(release + ".pub"));
        Assert.StartsWith("ed25519:", trusted.PublicKey);
        await client.SignImageAsync("guest", new SignImageRequest(await File.ReadAllTextAsync(release + ".pem")));
        await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest"));
        await client.ActAndWaitAsync("w", "start");
        await daemon.WaitForConsoleAsync("w", "WORKSPACE-READY");

        // Trust withdrawn: the next start is refused; the manifest still shows who signed.
        await client.ActAndWaitAsync("w", "stop");
        await client.RemoveTrustAsync("release");
        var withdrawn = await Assert.ThrowsAsync<ApiException>(() => client.ActAndWaitAsync("w", "start"));
        Assert.Contains("requireSignedImages", withdrawn.Message);
        Assert.Equal(2, (await client.GetManifestAsync("guest")).Signatures.Count(s => s.Valid));
    }

    [Fact]
    public async Task A_detached_signature_made_by_openssl_is_kept_only_if_it_verifies()
    {
        await using var daemon = await DaemonProcess.StartAsync();
        var client = daemon.Client;
        await GuestImages.ImportAsync(client);
        string publisher = await NewKeyAsync(daemon.Dir, "publisher");
        string manifest = Path.Combine(daemon.Dir, "manifest.json");
        await File.WriteAllTextAsync(manifest, (await client.GetManifestAsync("guest")).Manifest);
        var signed = await Processes.RunAsync("openssl", ["pkeyutl", "-sign", "-inkey", publisher + ".pem", "-rawin", "-in", manifest, "-out", manifest + ".sig"]);
        Assert.Equal(0, signed.ExitCode);
        string signature = Convert.ToBase64String(await File.ReadAllBytesAsync(manifest + ".sig"));
        string publicKey = await File.ReadAllTextAsync(publisher + ".pub");
        string hostKey = (await client.GetHostAsync()).SigningKey!;

        var wrongKey = await Assert.ThrowsAsync<ApiException>(() => client.SignImageAsync("guest",
            new SignImageRequest(Signer: hostKey, Signature: signature)));
        Assert.Equal(400, wrongKey.Status);
        Assert.Contains("does not verify", wrongKey.Message);
        Assert.Empty((await client.GetManifestAsync("guest")).Signatures);

        var kept = await client.SignImageAsync("guest", new SignImageRequest(Signer: publicKey, Signature: signature));
        Assert.True(kept.Valid);
        Assert.Null(kept.TrustedAs);
        Assert.Equal(kept.Signer, Assert.Single((await client.GetManifestAsync("guest")).Signatures).Signer);
    }

    [Fact]
    public async Task A_sealed_image_hides_guest_data_and_starts_elsewhere_only_after_reseal()
    {
        await using var a = await DaemonProcess.StartAsync();
        await using var b = await DaemonProcess.StartAsync();
        var sealedImage = await GuestImages.ImportAsync(a.Client, "vault", encrypt: true);
        Assert.True(sealedImage.Encrypted);
        await GuestImages.ImportAsync(a.Client, "open");

        // The same secret written by a sealed and by a plain workspace: found in the plain one's files only.
        string secret = "canary-" + Guid.NewGuid().ToString("N");
        foreach (var (name, image) in new[] { ("s1", "vault"), ("p1", "open") })
        {
            await a.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest(name, image, Cmdline: await GuestImages.CmdlineWithMarkAsync(secret + name)));
            await a.Client.ActAndWaitAsync(name, "start");
            Assert.Contains(secret + name, await a.WaitForConsoleAsync(name, "WORKSPACE-READY boot=1"));
            await a.Client.ActAndWaitAsync(name, "stop");
        }
        var disks = DiskFiles(a.StateDir);
        Assert.Contains(disks, f => Holds(f, secret + "p1")); // the plain overlay holds it: the search works
        Assert.DoesNotContain(disks, f => Holds(f, secret + "s1"));

        // Checked in, the sealed lineage stays sealed; exported to host B it cannot start there.
        var delta = await a.Client.CheckinAsync("s1", new CheckinRequest("vault2"));
        Assert.True(delta.Encrypted);
        string archive = Path.Combine(a.Dir, "vault2.tar");
        await a.Client.ExportImageAsync("vault2", archive);
        await b.Client.ImportArchiveAsync(archive);
        var refused = await Assert.ThrowsAsync<ApiException>(() => b.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("s2", "vault2")));
        Assert.Equal(409, refused.Status);
        Assert.Contains("sealed to another host", refused.Message);
        Assert.Empty(b.QemuPids());

        var hostB = await b.Client.GetHostAsync();
        await a.Client.ResealImageAsync("vault2", hostB.SealingKey!);
        await a.Client.ExportImageAsync("vault2", archive);
        await b.Client.ImportArchiveAsync(archive); // the image is there already: only the new seal is taken
        await b.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("s2", "vault2"));
        await b.Client.ActAndWaitAsync("s2", "start");
        Assert.Contains(secret + "s1", await b.WaitForConsoleAsync("s2", "WORKSPACE-READY boot=2"));
    }

    [Fact]
    public async Task Export_then_import_on_another_host_gives_identical_hashes_and_verifies()
    {
        await using var a = await DaemonProcess.StartAsync();
        await using var b = await DaemonProcess.StartAsync();
        await GuestImages.ImportAsync(a.Client);
        await a.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("w", "guest", Cmdline: await GuestImages.CmdlineWithMarkAsync("exported")));
        await a.Client.ActAndWaitAsync("w", "start");
        await a.WaitForConsoleAsync("w", "WORKSPACE-READY");
        await a.Client.ActAndWaitAsync("w", "stop");
        await a.Client.CheckinAsync("w", new CheckinRequest("shipped", Tags: ["v1"]));

        string archive = Path.Combine(a.Dir, "shipped.tar");
        await a.Client.ExportImageAsync("shipped", archive);
        var imported = await b.Client.ImportArchiveAsync(archive);

        var there = await a.Client.GetManifestAsync("shipped");
        var here = await b.Client.GetManifestAsync("shipped");
        Assert.Equal(there.Manifest, here.Manifest); // byte for byte: ids, blob hashes, provenance
        Assert.Equal(there.Chain.Select(c => c.Id), here.Chain.Select(c => c.Id));
        foreach (var link in await b.Client.ListImagesAsync())
            foreach (var blob in new[] { link.Disk, link.Kernel, link.Initrd }.OfType<string>())
                Assert.Equal(blob, await Sha256Async(Path.Combine(b.StateDir, "images", blob)));
        var report = await b.Client.VerifyImageAsync("shipped");
        Assert.True(report.Intact, string.Join("; ", report.Problems));
        Assert.True(Assert.Single(report.Signatures).Valid); // host A's signature, checked on B (valid, not trusted there)

        // A damaged archive is refused whole: nothing of it stays on the host.
        byte[] bytes = await File.ReadAllBytesAsync(archive);
        bytes[bytes.Length / 2] ^= 0xff;
        await File.WriteAllBytesAsync(archive, bytes);
        await using var c = await DaemonProcess.StartAsync();
        var damaged = await Assert.ThrowsAsync<ApiException>(() => c.Client.ImportArchiveAsync(archive));
        Assert.Equal(422, damaged.Status);
        Assert.Empty(await c.Client.ListImagesAsync());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(c.StateDir, "images"), "*", SearchOption.AllDirectories));
        Assert.Equal(imported.Id, (await b.Client.GetImageAsync("shipped")).Id);
    }

    /// <summary>Every disk file on the host: cached blobs and workspace overlays (not the links between them).</summary>
    private static List<string> DiskFiles(string stateDir) =>
        Directory.EnumerateFiles(Path.Combine(stateDir, "images"))
            .Concat(Directory.EnumerateFiles(Path.Combine(stateDir, "workspaces"), "disk.qcow2", SearchOption.AllDirectories))
            .ToList();

    private static bool Holds(string file, string text) => File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.ASCII.GetBytes(text)) >= 0;

    private static async Task<string> Sha256Async(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file));
    }

    /// <summary>An Ed25519 key pair made by openssl, as a publisher would: NAME.pem and NAME.pub.</summary>
    private static async Task<string> NewKeyAsync(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        string[][] steps = [["genpkey", "-algorithm", "ed25519", "-out", path + ".pem"], ["pkey", "-in", path + ".pem", "-pubout", "-out", path + ".pub"]];
        foreach (var args in steps)
        {
            var run = await Processes.RunAsync("openssl", args);
            if (run.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)} failed: {run.Stderr}");
        }
        return path;
    }
}
