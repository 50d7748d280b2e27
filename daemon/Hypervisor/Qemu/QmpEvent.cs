using System.Text.Json;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>An asynchronous QMP event (STOP, RESUME, SHUTDOWN, RESET, ...), with its data.</summary>
public sealed record QmpEvent(string Name, JsonElement Data, DateTimeOffset Time);
