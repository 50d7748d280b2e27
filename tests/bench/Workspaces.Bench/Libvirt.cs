using System.Security;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>The libvirt baseline: the same guest (kernel, initrd, cmdline, a qcow2 overlay, 256 MiB, 1 vCPU, TCG) as a libvirt domain.</summary>
public sealed class Libvirt : IAsyncDisposable
{
    private const string Uri = "qemu:///system";
    private readonly string _dir;
    private readonly TestGuest _guest;

    private Libvirt(string dir, TestGuest guest) => (_dir, _guest) = (dir, guest);

    public static async Task<Libvirt> ConnectAsync(string benchDir, TestGuest guest)
    {
        var (code, _, err) = await Measure.RunAsync("virsh", "-c", Uri, "version");
        if (code != 0) throw new InvalidOperationException($"libvirtd is not reachable ({err.Trim()}); tests/bench/run.sh starts it, or pass --no-libvirt");
        string dir = Path.Combine(benchDir, "libvirt");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(benchDir, (UnixFileMode)Convert.ToInt32("755", 8)); // libvirt's QEMU runs as libvirt-qemu
        File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("777", 8));
        // A copy of the guest where libvirt-qemu may read it (the build cache can sit in root's home).
        var copy = new TestGuest(Path.Combine(dir, "vmlinuz"), Path.Combine(dir, "initrd.img"), Path.Combine(dir, "base.qcow2"), guest.Cmdline);
        File.Copy(guest.Kernel, copy.Kernel);
        File.Copy(guest.Initrd, copy.Initrd);
        File.Copy(guest.Disk, copy.Disk);
        return new Libvirt(dir, copy);
    }

    private async Task<string> XmlAsync(string name)
    {
        string overlay = Path.Combine(_dir, $"{name}.qcow2");
        if (!File.Exists(overlay)) await Measure.MustAsync("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", _guest.Disk, overlay);
        string xml = $"""
            <domain type='qemu'>
              <name>{name}</name>
              <memory unit='MiB'>256</memory>
              <vcpu>1</vcpu>
              <os>
                <type arch='x86_64' machine='q35'>hvm</type>
                <kernel>{SecurityElement.Escape(_guest.Kernel)}</kernel>
                <initrd>{SecurityElement.Escape(_guest.Initrd)}</initrd>
                <cmdline>{SecurityElement.Escape(_guest.Cmdline)}</cmdline>
              </os>
              <cpu mode='maximum'/>
              <features><acpi/></features>
              <devices>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='qcow2'/>
                  <source file='{overlay}'/>
                  <target dev='vda' bus='virtio'/>
                </disk>
                <serial type='file'><source path='{Path.Combine(_dir, name + ".log")}'/></serial>
                <memballoon model='none'/>
              </devices>
            </domain>
            """;
        string path = Path.Combine(_dir, $"{name}.xml");
        await File.WriteAllTextAsync(path, xml);
        return path;
    }

    public async Task CreateAsync(string name) => await Measure.MustAsync("virsh", "-c", Uri, "create", await XmlAsync(name));
    public Task DestroyAsync(string name) => Measure.MustAsync("virsh", "-c", Uri, "destroy", name);

    public async ValueTask DisposeAsync()
    {
        await Measure.RunAsync("virsh", "-c", Uri, "destroy", "bench-launch");
    }
}
