using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Decides between KVM and TCG by running a guest, not by opening /dev/kvm: on some hosts (a
/// paravirtual KVM) /dev/kvm opens and KVM_CREATE_VM succeeds, yet vCPUs never make progress.
/// The probe guest is one boot sector that writes to isa-debug-exit; QEMU then exits with
/// (value &lt;&lt; 1) | 1. No exit within the timeout means KVM is unusable here.
/// </summary>
public sealed class KvmProbe(IOptions<WorkspacesOptions> options, ILogger<KvmProbe> logger)
{
    private const byte ExitValue = 0x31;
    private readonly Lazy<Task<AcceleratorChoice>> _choice = new(() => Task.Run(() => DecideAsync(options.Value, logger)));

    public Task<AcceleratorChoice> Choice => _choice.Value;

    private static async Task<AcceleratorChoice> DecideAsync(WorkspacesOptions o, ILogger logger)
    {
        var choice = o.Accelerator switch
        {
            "tcg" => new AcceleratorChoice("tcg", "configured: accelerator = tcg"),
            "kvm" => new AcceleratorChoice("kvm", "configured: accelerator = kvm"),
            _ => await ProbeAsync(o),
        };
        logger.LogInformation("Accelerator {Accelerator}: {Reason}", choice.Accelerator, choice.Reason);
        return choice;
    }

    private static async Task<AcceleratorChoice> ProbeAsync(WorkspacesOptions o)
    {
        try
        {
            using (File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new AcceleratorChoice("tcg", $"/dev/kvm cannot be opened ({e.Message}); using TCG software emulation");
        }

        string image = Path.Combine(Path.GetTempPath(), $"workspaces-kvm-probe-{Environment.ProcessId}.img");
        await File.WriteAllBytesAsync(image, BootSector());
        var start = new ProcessStartInfo(o.QemuBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
                 {
                     "-accel", "kvm", "-machine", "pc", "-m", "16", "-nodefaults", "-no-user-config", "-display", "none",
                     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                     "-drive", $"file={image},format=raw,if=ide,readonly=on",
                 })
            start.ArgumentList.Add(arg);
        var timeout = TimeSpan.FromSeconds(o.KvmProbeTimeoutSeconds);
        var clock = Stopwatch.StartNew();
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return new AcceleratorChoice("tcg",
                    $"/dev/kvm opens, but a KVM probe guest made no progress in {timeout.TotalSeconds:0.#} s (a paravirtualized or nested KVM that cannot run guests); using TCG software emulation");
            }
            if (process.ExitCode == (ExitValue << 1 | 1))
                return new AcceleratorChoice("kvm", $"a KVM probe guest ran to completion in {clock.ElapsedMilliseconds} ms");
            string error = (await stderr).Trim().Split('\n').LastOrDefault() ?? "";
            return new AcceleratorChoice("tcg", $"a KVM probe guest failed (exit {process.ExitCode}: {error}); using TCG software emulation");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new AcceleratorChoice("tcg", $"{o.QemuBinary} cannot be run ({e.Message}); KVM was not probed");
        }
        finally
        {
            File.Delete(image);
        }
    }

    /// <summary>A 512-byte MBR: mov al, 0x31; out 0xf4, al; hlt; jmp $ — and the 0x55AA signature.</summary>
    private static byte[] BootSector()
    {
        var sector = new byte[512];
        byte[] code = [0xB0, ExitValue, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE];
        code.CopyTo(sector, 0);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        return sector;
    }
}
