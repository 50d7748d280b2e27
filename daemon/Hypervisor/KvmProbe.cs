using System.Diagnostics;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Processes;

namespace Workspaces.Daemon.Hypervisor;

/// <summary>
/// Decides between KVM and TCG by running a guest, not by opening /dev/kvm: on some hosts (a
/// paravirtual or nested KVM) /dev/kvm opens and KVM_CREATE_VM succeeds, yet guests crawl or hang.
/// The probe guest is one boot sector: it enables interrupts, sleeps through five of them (the
/// BIOS timer ticks), then writes to isa-debug-exit, so QEMU exits with (0x31 &lt;&lt; 1) | 1.
/// KVM is chosen only if that guest finishes within the timeout and faster than under TCG:
/// a KVM slower than software emulation is not one to run workspaces on.
/// </summary>
public sealed class KvmProbe(IOptions<WorkspacesOptions> options, CommandRunner runner, ILogger<KvmProbe> logger)
{
    private const byte ExitValue = 0x31;
    private readonly Lazy<Task<AcceleratorChoice>> _choice = new(() => Task.Run(() => DecideAsync(options.Value, runner, logger)));

    public Task<AcceleratorChoice> Choice => _choice.Value;

    private static async Task<AcceleratorChoice> DecideAsync(WorkspacesOptions o, CommandRunner runner, ILogger logger)
    {
        var choice = o.Accelerator switch
        {
            "tcg" => new AcceleratorChoice("tcg", "configured: accelerator = tcg"),
            "kvm" => new AcceleratorChoice("kvm", "configured: accelerator = kvm"),
            _ => await ProbeAsync(o, runner),
        };
        HypervisorLog.AcceleratorChosen(logger, choice.Accelerator, choice.Reason);
        return choice;
    }

    private static async Task<AcceleratorChoice> ProbeAsync(WorkspacesOptions o, CommandRunner runner)
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
        try
        {
            var timeout = TimeSpan.FromSeconds(o.KvmProbeTimeoutSeconds);
            var kvm = await RunAsync(runner, o.QemuBinary, "kvm", image, timeout);
            if (kvm.Error is not null)
                return new AcceleratorChoice("tcg", $"/dev/kvm opens, but a KVM probe guest {kvm.Error}; using TCG software emulation");
            var tcg = await RunAsync(runner, o.QemuBinary, "tcg", image, timeout);
            if (tcg.Error is null && tcg.Elapsed < kvm.Elapsed)
                return new AcceleratorChoice("tcg",
                    $"a KVM probe guest took {kvm.Elapsed.TotalMilliseconds:0} ms, slower than under TCG ({tcg.Elapsed.TotalMilliseconds:0} ms): this KVM cannot run guests usefully (paravirtualized or nested); using TCG software emulation");
            return new AcceleratorChoice("kvm", $"a KVM probe guest ran in {kvm.Elapsed.TotalMilliseconds:0} ms (TCG: {tcg.Elapsed.TotalMilliseconds:0} ms)");
        }
        finally
        {
            File.Delete(image);
        }
    }

    private sealed record ProbeRun(TimeSpan Elapsed, string? Error);

    /// <summary>Runs the probe guest; past the timeout the runner kills QEMU (and waits for it to be gone).</summary>
    private static async Task<ProbeRun> RunAsync(CommandRunner runner, string qemu, string accelerator, string image, TimeSpan timeout)
    {
        string[] args =
        [
            "-accel", accelerator, "-machine", "pc", "-m", "16", "-nodefaults", "-no-user-config", "-display", "none",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", $"file={image},format=raw,if=ide",
        ];
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            var result = await runner.RunAsync(qemu, args, deadline.Token);
            if (result.ExitCode == (ExitValue << 1 | 1)) return new ProbeRun(clock.Elapsed, null);
            return new ProbeRun(clock.Elapsed, $"failed (exit {result.ExitCode}: {result.LastErrorLine})");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new ProbeRun(clock.Elapsed, $"made no progress in {timeout.TotalSeconds:0.#} s");
        }
        catch (CommandException e) when (e.ExitCode is null)
        {
            return new ProbeRun(clock.Elapsed, $"could not run: {qemu}: {e.LastLine}");
        }
    }

    /// <summary>A 512-byte MBR: sti; mov cx, 5; hlt; loop (back to hlt); mov al, 0x31; out 0xf4, al; hlt; jmp $; 0x55AA.</summary>
    private static byte[] BootSector()
    {
        var sector = new byte[512];
        byte[] code = [0xFB, 0xB9, 0x05, 0x00, 0xF4, 0xE2, 0xFD, 0xB0, ExitValue, 0xE6, 0xF4, 0xF4, 0xEB, 0xFE];
        code.CopyTo(sector, 0);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        return sector;
    }
}
