using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>
/// POST /v1/workspaces/{name}/exec: run Command (argv, no shell) in the guest through its agent.
/// Env entries are K=V, added to the agent's environment; Cwd is where it starts; TimeoutSeconds
/// ends it (killed in the guest) and reports a timeout.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ExecRequest(string[] Command, string[]? Env = null, string? Cwd = null, double? TimeoutSeconds = null);

/// <summary>
/// One line of an exec's or a run's answer (application/x-ndjson), in order: Workspace (run: the
/// workspace made for it), then Stream ("stdout" or "stderr") with Data as the command writes it,
/// then one last frame: Exit (its code; Signal if a signal ended it), or TimedOut, or Error (the
/// exec could not go on; a person's sentence).
/// </summary>
public sealed record ExecFrame(
    string? Stream = null,
    byte[]? Data = null,
    int? Exit = null,
    int? Signal = null,
    bool? TimedOut = null,
    string? Error = null,
    string? Workspace = null);

/// <summary>
/// POST /v1/run: create a workspace from Image, start it, wait for its agent, run Command, stream
/// its output, then delete the workspace (unless Keep), as one daemon-side operation: a failure
/// or the client leaving also deletes it. Name defaults to a fresh "run-..." name.
/// From (a template) and UserData (cloud-init user-data) are passed to the create when the
/// daemon has them; see README.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RunRequest(
    string Image,
    string[] Command,
    string? Name = null,
    int? Vcpus = null,
    int? MemoryMiB = null,
    string? Network = null,
    string? Cmdline = null,
    string[]? Env = null,
    string? Cwd = null,
    double? TimeoutSeconds = null,
    double? AgentTimeoutSeconds = null,
    bool Keep = false,
    string? From = null,
    string? UserData = null);

/// <summary>What the guest agent says in `ws show`: whether it answers, and if so the guest's OS and addresses.</summary>
public sealed record GuestAgentInfo(bool Answering, string? Error = null, GuestOsView? Os = null, GuestInterfaceView[]? Interfaces = null);

/// <summary>The guest's OS as its agent reports it (os-release and uname).</summary>
public sealed record GuestOsView(string? Id, string? Name, string? PrettyName, string? Version, string? Kernel, string? Machine);

/// <summary>One of the guest's network interfaces: its name, MAC and addresses (ADDRESS/PREFIX).</summary>
public sealed record GuestInterfaceView(string Name, string? Mac, string[] Addresses);

/// <summary>PUT /v1/workspaces/{name}/files: what was written where.</summary>
public sealed record GuestFileInfo(string Path, long Size);
