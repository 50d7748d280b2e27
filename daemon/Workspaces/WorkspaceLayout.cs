using Workspaces.Daemon.Hypervisor;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// The one owner of where a workspace's files are: {state}/workspaces/ID/ holds its overlay, the
/// links to its image chain, QEMU's sockets, pid file and logs. The lifecycle, the hypervisor's
/// spec and the tests all ask here.
/// </summary>
public sealed class WorkspaceLayout(string root)
{
    public string Root { get; } = root;

    public string Dir(string id) => Path.Combine(Root, id);

    /// <summary>The workspace's own disk: a qcow2 on its image's disk blob.</summary>
    public string Overlay(string id) => Path.Combine(Dir(id), "disk.qcow2");

    /// <summary>Beside a backing file's hash-named link: where the chain's layers are found.</summary>
    public string BackingLink(string id, string sha256) => Path.Combine(Dir(id), sha256);

    /// <summary>A data disk's qcow2 (its name is checked: lowercase letters, digits and hyphens).</summary>
    public string DataDisk(string id, string name) => Path.Combine(Dir(id), $"data-{name}.qcow2");

    /// <summary>Where a data disk is made, then renamed to DataDisk: never a half-made file under the final name.</summary>
    public string DataDiskStaging(string id, string name) => Path.Combine(Dir(id), $".data-{name}.qcow2.staging");
    /// <summary>Its saved RAM and device state (ws stop --stateful), zstd-compressed; its hash is in SQLite.</summary>
    public string SavedState(string id) => Path.Combine(Dir(id), "state.zst");

    public string ConsoleLog(string id) => Path.Combine(Dir(id), "console.log");

    /// <summary>The guest's second serial port, a root-only socket: a shell for tests and for a person debugging.</summary>
    public string ShellSocket(string id) => Path.Combine(Dir(id), "shell.sock");

    /// <summary>The guest agent's port (virtio-serial org.qemu.guest_agent.0), in the same private directory as qmp.sock.</summary>
    public string AgentSocket(string id) => Path.Combine(Dir(id), "agent.sock");

    public GuestPaths Guest(string id) => new(Dir(id),
        QmpSocket: Path.Combine(Dir(id), "qmp.sock"),
        PidFile: Path.Combine(Dir(id), "qemu.pid"),
        ConsoleLog: ConsoleLog(id),
        ShellSocket: ShellSocket(id),
        QmpLog: Path.Combine(Dir(id), "qmp.log"),
        AgentSocket: AgentSocket(id));

    /// <summary>The ids of every workspace directory present.</summary>
    public IEnumerable<string> Ids() => Directory.EnumerateDirectories(Root).Select(d => Path.GetFileName(d)!);
}
