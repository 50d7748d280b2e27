using System.Diagnostics;
using System.Text;
using NSec.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>
/// The Factory's costs against the tools that do the same work alone: importing 1 GiB against
/// hashing it with openssl, checking in a 1 GiB delta against qemu-img convert of that delta, and
/// the signature check every launch makes.
/// </summary>
public static class FactoryBench
{
    private const long GiB = 1L << 30;

    public static async Task RunAsync(DaemonProcess daemon, int runs, Report report)
    {
        await ImportAsync(daemon, runs, report);
        await CheckinAsync(daemon, runs, report);
        await VerifyAsync(daemon, report);
    }

    /// <summary>Import streams over the socket, hashes and writes (fsync) in one pass; openssl only reads and hashes.</summary>
    private static async Task ImportAsync(DaemonProcess daemon, int runs, Report report)
    {
        var client = daemon.Client;
        string path = Path.Combine(daemon.Dir, "gib.raw");
        await using (var file = File.Create(path))
        {
            var chunk = new byte[1 << 20];
            for (long written = 0; written < GiB; written += chunk.Length)
            {
                Random.Shared.NextBytes(chunk);
                await file.WriteAsync(chunk);
            }
        }
        var ours = new List<double>();
        var openssl = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await Measure.MustAsync("openssl", "dgst", "-sha256", path);
            openssl.Add(clock.Elapsed.TotalMilliseconds);

            clock.Restart();
            await client.ImportLocalImageAsync(new ImageUpload("gib", DiskPath: path)); // as `ws image import` does
            ours.Add(clock.Elapsed.TotalMilliseconds);
            await client.DeleteImageAsync("gib");
        }
        File.Delete(path);
        double o = Measure.Median(ours), b = Measure.Median(openssl);
        report.Add("import 1 GiB (median)", $"{o:0} ms", $"openssl dgst -sha256 {b:0} ms", $"{o / b:0.00}x", "<= 1.25x", o / b <= 1.25);
    }

    /// <summary>
    /// Each run: a workspace whose overlay holds 1 GiB of written clusters (qemu-io flushes it at
    /// exit, as QEMU does when a guest stops), converted by qemu-img and checked in.
    /// </summary>
    private static async Task CheckinAsync(DaemonProcess daemon, int runs, Report report)
    {
        var client = daemon.Client;
        string basePath = Path.Combine(daemon.Dir, "base.qcow2");
        await Measure.MustAsync("qemu-img", "create", "-q", "-f", "qcow2", basePath, "2G");
        var image = await client.ImportLocalImageAsync(new ImageUpload("empty2g", DiskPath: basePath));
        string converted = Path.Combine(daemon.Dir, "converted.qcow2");
        string backing = Path.Combine(daemon.StateDir, "images", image.Disk!);
        var ours = new List<double>();
        var convert = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var workspace = await client.CreateWorkspaceAsync(new CreateWorkspaceRequest("delta", "empty2g"));
            string overlay = daemon.Layout.Overlay(workspace.Id);
            await Measure.MustAsync("qemu-io", "-f", "qcow2", "-c", $"write -P 0x{0x40 + i:x2} 0 1G", overlay);

            var clock = Stopwatch.StartNew();
            // -t writeback: flushed at the end, durable like a checkin (convert's default, unsafe, never flushes).
            await Measure.MustAsync("qemu-img", "convert", "-t", "writeback", "-O", "qcow2", "-B", backing, "-F", "qcow2", overlay, converted);
            convert.Add(clock.Elapsed.TotalMilliseconds);
            File.Delete(converted);

            clock.Restart();
            await client.CheckinAsync("delta", new CheckinRequest("delta-image"));
            ours.Add(clock.Elapsed.TotalMilliseconds);
            await client.DeleteWorkspaceAsync("delta");
            await client.DeleteImageAsync("delta-image");
        }
        await client.DeleteImageAsync("empty2g");
        double o = Measure.Median(ours), b = Measure.Median(convert);
        report.Add("checkin 1 GiB delta (median)", $"{o:0} ms", $"qemu-img convert -t writeback {b:0} ms", $"{o / b:0.00}x", "<= 1.1x", o / b <= 1.1);
    }

    /// <summary>What the launch gate does per signature: the canonical manifest, then one Ed25519 verification.</summary>
    private static Task VerifyAsync(DaemonProcess daemon, Report report)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        var row = new ImageRow
        {
            Id = new string('a', 64), Name = "bench", Kind = "bootset", Disk = new string('b', 64), DiskFormat = "qcow2",
            DiskVirtualSize = 1 << 26, Kernel = new string('c', 64), Initrd = new string('d', 64), Cmdline = "console=ttyS0",
            Size = 1 << 24, CreatedAt = 1, Parent = new string('e', 64), OriginWorkspace = "w", OriginHost = "h", OriginHostKey = "ed25519:x",
        };
        var signature = new SignatureRow(row.Id, KeyText.Format(key.PublicKey),
            Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(key, ImageManifest.From(row).ToCanonicalJson())), 0);
        var samples = new List<double>();
        for (int i = 0; i < 2000; i++)
        {
            var clock = Stopwatch.StartNew();
            bool valid = TrustPolicy.IsValid(signature, ImageManifest.From(row).ToCanonicalJson());
            samples.Add(clock.Elapsed.TotalMilliseconds);
            if (!valid) throw new InvalidOperationException("the benchmark's own signature did not verify");
        }
        double median = Measure.Median(samples);
        report.Add("manifest signature verify (median of 2000)", $"{median * 1000:0} µs", "", "", "<= 1 ms", median <= 1);
        return Task.CompletedTask;
    }
}
