using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Images;

/// <summary>qemu-img, the standard tool for disk images: run with an argument list, its JSON parsed.</summary>
public sealed class QemuImg(IOptions<WorkspacesOptions> options)
{
    /// <summary>Probes a file's format and metadata without opening any backing file.</summary>
    public async Task<QemuImgInfo> InfoAsync(string path, CancellationToken ct)
    {
        var (code, stdout, stderr) = await RunAsync(ct, "info", "--output=json", path);
        if (code != 0) throw WorkspacesException.Unprocessable($"not a disk image qemu-img can read: {LastLine(stderr)}");
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        string? dataFile = root.TryGetProperty("format-specific", out var fs)
                           && fs.TryGetProperty("data", out var data)
                           && data.TryGetProperty("data-file", out var df) ? df.GetString() : null;
        return new QemuImgInfo(
            root.GetProperty("format").GetString() ?? "",
            root.GetProperty("virtual-size").GetInt64(),
            root.TryGetProperty("backing-filename", out var backing) ? backing.GetString() : null,
            dataFile);
    }

    /// <summary>Checks a qcow2's metadata for corruption (a truncated or damaged file fails here).</summary>
    public async Task CheckAsync(string path, CancellationToken ct)
    {
        var (code, stdout, stderr) = await RunAsync(ct, "check", "--output=json", "-f", "qcow2", path);
        // Exit 0: clean; 3: only leaked clusters (harmless); 1, 2: the image cannot be checked or is corrupt.
        if (code is 0 or 3) return;
        string detail = stdout.Length > 0 && stdout.TrimStart().StartsWith('{')
            ? $"{JsonDocument.Parse(stdout).RootElement.GetProperty("corruptions").GetInt32()} corruptions"
            : LastLine(stderr);
        throw WorkspacesException.Unprocessable($"the qcow2 image is damaged or truncated: {detail}");
    }

    /// <summary>A new qcow2 whose backing file is the cached image: constant time, whatever the image's size.</summary>
    public async Task CreateOverlayAsync(string backingPath, string backingFormat, string overlayPath, CancellationToken ct)
    {
        var (code, _, stderr) = await RunAsync(ct, "create", "-q", "-f", "qcow2", "-F", backingFormat, "-b", backingPath, overlayPath);
        if (code != 0) throw new IOException($"qemu-img create of {overlayPath} failed: {LastLine(stderr)}");
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo(options.Value.QemuImgBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
}
