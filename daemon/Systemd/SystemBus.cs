using Tmds.DBus.Protocol;

namespace Workspaces.Daemon.Systemd;

/// <summary>
/// The daemon's one connection to the D-Bus system bus, and what is on it. Absent (null) when there
/// is no bus or no systemd on it: a plain shell, a container without an init, CI.
/// </summary>
public sealed class SystemBus : IDisposable
{
    private SystemBus(DBusConnection connection, bool hasMachined) => (Connection, HasMachined) = (connection, hasMachined);

    public DBusConnection Connection { get; }
    public bool HasMachined { get; }

    /// <summary>
    /// Sends a method call and waits for its reply. Tmds.DBus completes replies on its receive loop;
    /// the Yield moves the caller's continuation off that thread, so no caller can ever stall the loop
    /// that would deliver the next reply. Cancelled, the caller stops waiting: the call has been
    /// sent and the peer may still act on it (D-Bus has no cancel), its late reply is dropped.
    /// </summary>
    public async Task CallAsync(MessageBuffer message, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested(); // not sent at all (the pooled buffer is simply dropped)
        try
        {
            await Connection.CallMethodAsync(message).WaitAsync(ct);
        }
        finally
        {
            await Task.Yield();
        }
    }

    /// <summary>Connects if systemd answers on the system bus; otherwise says why not.</summary>
    public static async Task<(SystemBus? Bus, string Why)> TryConnectAsync(CancellationToken ct)
    {
        string address = DBusAddress.System ?? "unix:path=/run/dbus/system_bus_socket";
        if (address.StartsWith("unix:path=", StringComparison.Ordinal) && !File.Exists(address["unix:path=".Length..].Split(',')[0]))
            return (null, "there is no D-Bus system bus");
        var connection = new DBusConnection(address);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5), ct);
            var names = await connection.ListServicesAsync();
            if (!names.Contains(SystemdManager.Service))
            {
                connection.Dispose();
                return (null, "the system bus has no systemd (org.freedesktop.systemd1)");
            }
            var activatable = await connection.ListActivatableServicesAsync();
            bool machined = names.Contains(MachineManager.Service) || activatable.Contains(MachineManager.Service);
            await Task.Yield(); // off the bus's receive loop (see CallAsync): the host must not run on it
            return (new SystemBus(connection, machined), "systemd runs the host");
        }
        catch (Exception e) when (e is DBusExceptionBase or IOException or TimeoutException or System.Net.Sockets.SocketException)
        {
            connection.Dispose();
            return (null, $"the system bus cannot be reached ({e.Message})");
        }
    }

    public void Dispose() => Connection.Dispose();
}
