using System.Text.Json;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Images;

/// <summary>qemu-img, the standard tool for disk images: run through the CommandRunner with an argument list, its JSON parsed.</summary>
public sealed class QemuImg(IOptions<WorkspacesOptions> options, CommandRunner runner)
{
    /// <summary>Probes a file's format and metadata without opening any backing file.</summary>
    public async Task<QemuImgInfo> InfoAsync(string path, CancellationToken ct)
    {
        var result = await RunAsync(ct, "info", "--output=json", path);
        if (!result.Succeeded) throw QemuImgException.Unprocessable("not a disk image qemu-img can read", result);
        using var doc = JsonDocument.Parse(result.Stdout);
        var root = doc.RootElement;
        string? dataFile = root.TryGetProperty("format-specific", out var fs)
                           && fs.TryGetProperty("data", out var data)
                           && data.TryGetProperty("data-file", out var df) ? df.GetString() : null;
        return new QemuImgInfo(
            root.GetProperty("format").GetString() ?? "",
            root.GetProperty("virtual-size").GetInt64(),
            root.TryGetProperty("backing-filename", out var backing) ? backing.GetString() : null,
            dataFile,
            root.TryGetProperty("encrypted", out var encrypted) && encrypted.GetBoolean());
    }

    /// <summary>Checks a qcow2's metadata for corruption (a truncated or damaged file fails here).</summary>
    public async Task CheckAsync(string path, CancellationToken ct)
    {
        var result = await RunAsync(ct, "check", "--output=json", "-f", "qcow2", path);
        // Exit 0: clean; 3: only leaked clusters (harmless); 1, 2: the image cannot be checked or is corrupt.
        if (result.ExitCode is 0 or 3) return;
        string stdout = result.Stdout;
        string? corruptions = stdout.Length > 0 && stdout.TrimStart().StartsWith('{')
            ? $"{JsonDocument.Parse(stdout).RootElement.GetProperty("corruptions").GetInt32()} corruptions"
            : null;
        throw QemuImgException.Unprocessable("the qcow2 image is damaged or truncated", result, corruptions);
    }

    /// <summary>
    /// A new qcow2 on a backing file named relative to the overlay's directory: constant time,
    /// whatever the image's size. A sealed overlay is encrypted with the lineage's key; its size is
    /// given (-u), so the encrypted backing is not opened.
    /// </summary>
    public async Task CreateOverlayAsync(string backingName, string backingFormat, string overlayPath, long virtualSize, string? passphrase, CancellationToken ct)
    {
        var args = new List<string> { "create", "-q", "-f", "qcow2", "-F", backingFormat, "-b", backingName };
        if (passphrase is not null) args.AddRange(["-u", "--object", SecretObject, "-o", EncryptOptions]);
        args.AddRange([overlayPath, virtualSize.ToString()]);
        var result = await RunWithInputAsync(ct, passphrase, args.ToArray());
        if (!result.Succeeded) throw QemuImgException.From($"qemu-img create of {overlayPath}", result);
    }

    /// <summary>A new empty qcow2 of this virtual size (sparse: it takes almost no space until written), sealed when a passphrase is given.</summary>
    public async Task CreateBlankAsync(string path, long virtualSize, string? passphrase, CancellationToken ct)
    {
        var args = new List<string> { "create", "-q", "-f", "qcow2" };
        if (passphrase is not null) args.AddRange(["--object", SecretObject, "-o", EncryptOptions]);
        args.AddRange([path, virtualSize.ToString()]);
        var result = await RunWithInputAsync(ct, passphrase, args.ToArray());
        if (!result.Succeeded) throw QemuImgException.From($"qemu-img create of {path}", result);
    }

    /// <summary>
    /// Copies the guest-visible content of a disk into a new qcow2: whole (flatten), or as a delta on
    /// backingPath. The source is opened through its chain with the lineage key where layers are
    /// sealed; the output is sealed with the same key when a passphrase is given.
    /// </summary>
    public async Task ConvertAsync(DiskChain source, string outputPath, string? backingPath, string? backingFormat, bool encryptOutput,
        string? passphrase, CancellationToken ct)
    {
        var args = new List<string> { "convert", "-q" };
        if (passphrase is not null) args.AddRange(["--object", SecretObject]);
        args.AddRange(["--image-opts", source.ImageOpts("sec0"), "-O", "qcow2"]);
        if (encryptOutput) args.AddRange(["-o", EncryptOptions]);
        if (backingPath is not null) args.AddRange(["-B", backingPath, "-F", backingFormat!]);
        args.Add(outputPath);
        var result = await RunWithInputAsync(ct, passphrase, args.ToArray());
        if (!result.Succeeded) throw QemuImgException.From($"qemu-img convert to {outputPath}", result);
    }

    /// <summary>
    /// Rewrites only the name of a qcow2's backing file (no data is read or written). A sealed qcow2
    /// cannot even be opened without its key, so that is given for one.
    /// </summary>
    public async Task SetBackingNameAsync(string path, string backingName, string backingFormat, string? passphrase, CancellationToken ct)
    {
        var args = new List<string> { "rebase", "-u", "-b", backingName, "-F", backingFormat };
        if (passphrase is null) args.AddRange(["-f", "qcow2", path]);
        else args.AddRange(["--object", SecretObject, "--image-opts", new DiskChain([new DiskLayer(path, "qcow2", true)]).ImageOpts("sec0")]);
        var result = await RunWithInputAsync(ct, passphrase, args.ToArray());
        if (!result.Succeeded) throw QemuImgException.From($"qemu-img rebase -u of {path}", result);
    }

    // The secret arrives on stdin, never on a command line (readable in /proc) or in a file.
    private const string SecretObject = "secret,id=sec0,file=/dev/stdin";
    private const string EncryptOptions = "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10";

    private Task<CommandResult> RunAsync(CancellationToken ct, params string[] args) => RunWithInputAsync(ct, null, args);

    /// <summary>
    /// Runs qemu-img; stdin, when given, is written and closed first (how secrets reach it).
    /// Making a LUKS header, qemu-img times PBKDF2 by the thread's user CPU time and gives up when it
    /// reads 0 ms ("Unable to get accurate CPU usage"). On a kernel with tick-based accounting (this
    /// microVM: 250 Hz, no VIRT_CPU_ACCOUNTING) that happens to 1 create in 3 when idle and 3 in 4
    /// under load; QEMU 7.2 has no option to give the iteration count instead. The key is a random
    /// 256-bit secret, so the count protects nothing: try again, each attempt costs ~0.1 s.
    /// Cancelled, the runner kills qemu-img and waits for it to be gone, so it never writes on after
    /// its output was cleaned up.
    /// </summary>
    private async Task<CommandResult> RunWithInputAsync(CancellationToken ct, string? stdin, params string[] args)
    {
        var deadline = DateTime.UtcNow + LuksTimingRetryWindow;
        while (true)
        {
            var result = await runner.RunAsync(options.Value.QemuImgBinary, args, ct, stdin);
            if (result.Succeeded || !QemuImgException.IsCoarseCpuClock(result.Stderr) || DateTime.UtcNow > deadline) return result;
        }
    }

    private static readonly TimeSpan LuksTimingRetryWindow = TimeSpan.FromSeconds(60);
}
