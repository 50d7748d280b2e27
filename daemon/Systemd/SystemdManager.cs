using Tmds.DBus.Protocol;

namespace Workspaces.Daemon.Systemd;

/// <summary>The few calls of org.freedesktop.systemd1.Manager the daemon makes (see org.freedesktop.systemd1(5)).</summary>
public sealed class SystemdManager(SystemBus bus)
{
    public const string Service = "org.freedesktop.systemd1";
    private const string Path = "/org/freedesktop/systemd1";
    private const string Interface = "org.freedesktop.systemd1.Manager";

    /// <summary>StartTransientUnit(name, "fail", properties, no auxiliary units).</summary>
    public Task StartTransientUnitAsync(string name, KeyValuePair<string, VariantValue>[] properties, CancellationToken ct)
    {
        using var writer = bus.Connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: Path, @interface: Interface, member: "StartTransientUnit",
            signature: "ssa(sv)a(sa(sv))", flags: MessageFlags.None);
        writer.WriteString(name);
        writer.WriteString("fail");
        writer.WriteDictionary(properties); // a(sv) and a{sv} share one wire format
        writer.WriteArrayEnd(writer.WriteArrayStart(DBusType.Struct));
        return bus.CallAsync(writer.CreateMessage(), ct);
    }

    /// <summary>SetUnitProperties(name, runtime: true, properties): live, and forgotten at reboot.</summary>
    public Task SetUnitPropertiesAsync(string name, KeyValuePair<string, VariantValue>[] properties, CancellationToken ct)
    {
        using var writer = bus.Connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Service, path: Path, @interface: Interface, member: "SetUnitProperties",
            signature: "sba(sv)", flags: MessageFlags.None);
        writer.WriteString(name);
        writer.WriteBool(true);
        writer.WriteDictionary(properties);
        return bus.CallAsync(writer.CreateMessage(), ct);
    }
}
