using System.Security.Cryptography;
using System.Text;
using Tmds.DBus.Protocol;

namespace Workspaces.Daemon.Systemd;

/// <summary>org.freedesktop.machine1.Manager: registers guests so `machinectl list` shows them (see org.freedesktop.machine1(5)).</summary>
public sealed class MachineManager(SystemBus bus)
{
    public const string Service = "org.freedesktop.machine1";

    /// <summary>RegisterMachine(name, id, service, class "vm", leader, root ""): the leader must already be in its own unit.</summary>
    public Task RegisterAsync(string name, string workspaceId, int leader, CancellationToken ct)
    {
        // A stable 128-bit id per workspace, as machined wants one.
        byte[] id = SHA256.HashData(Encoding.UTF8.GetBytes("workspace:" + workspaceId))[..16];
        using var writer = bus.Connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: "/org/freedesktop/machine1", @interface: "org.freedesktop.machine1.Manager",
            member: "RegisterMachine", signature: "sayssus", flags: MessageFlags.None);
        writer.WriteString(name);
        writer.WriteArray(id);
        writer.WriteString("workspaces");
        writer.WriteString("vm");
        writer.WriteUInt32((uint)leader);
        writer.WriteString("");
        return bus.CallAsync(writer.CreateMessage(), ct);
    }
}
