using System.Text.Json.Serialization;

namespace Workspaces.Client;

// The wire contract of /v1. Requests reject unknown members so a typo is an error, not a silent default;
// responses may grow new members (never change a shape, add to it).

/// <summary>GET /v1/host.</summary>
public sealed record HostInfo(
    string Version,
    string Hostname,
    string Accelerator,
    string AcceleratorReason,
    int Cpus,
    long MemoryMiB,
    int Workspaces,
    int Running,
    string StateDir,
    int? CapacityVcpus = null,
    int? CapacityMemoryMiB = null,
    int? CommittedVcpus = null,
    int? CommittedMemoryMiB = null,
    string? Enforcement = null,
    string? EnforcementReason = null,
    string? SigningKey = null,
    string? SigningKeyFingerprint = null,
    string? SealingKey = null,
    string? SealingKeyFingerprint = null,
    string? TlsFingerprint = null,
    string? PeerListen = null,
    string? PeerName = null);

/// <summary>An image in the content-addressed cache. Id is its SHA-256 fingerprint.</summary>
public sealed record ImageInfo(
    string Id,
    string Name,
    string Kind,
    string? DiskFormat,
    long? DiskVirtualSize,
    string? Disk,
    string? Kernel,
    string? Initrd,
    string? Cmdline,
    long Size,
    DateTimeOffset CreatedAt,
    string? Parent = null,
    string[]? Tags = null,
    bool Encrypted = false,
    string? OriginWorkspace = null,
    string? OriginHost = null,
    TemplateStateInfo? State = null);

/// <summary>A template's RAM and device state: its blob, and the guest shape its workspaces get.</summary>
public sealed record TemplateStateInfo(string Sha256, int MemoryMiB, int Vcpus);

/// <summary>
/// POST /v1/images as application/json, from a client on this host: the files are named by
/// descriptors the client holds open, which the daemon reopens through /proc/PID/fd, so it reads
/// exactly what the caller could read, with no copy through the socket.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LocalImportRequest(
    string Name,
    int? DiskFd = null,
    int? KernelFd = null,
    int? InitrdFd = null,
    string? Cmdline = null,
    bool Encrypt = false,
    string[]? Tags = null);

/// <summary>GET /v1/images/{image}/manifest: the canonical manifest (the bytes signatures cover), its signatures and its chain.</summary>
public sealed record ImageManifestInfo(string Id, string Manifest, SignatureInfo[] Signatures, ImageChainLink[] Chain);

/// <summary>A signature over an image's manifest, checked now: valid or not, and by whom if the signer is trusted.</summary>
public sealed record SignatureInfo(string Signer, string Fingerprint, bool Valid, string? TrustedAs, DateTimeOffset SignedAt);

/// <summary>One image of a chain, top (the image itself) first.</summary>
public sealed record ImageChainLink(string Id, string Name, bool Encrypted);

/// <summary>
/// POST /v1/images/{image}/signatures: sign with this host's key (empty request), with a PEM Ed25519
/// private key used once and not kept, or add a detached signature made elsewhere over the
/// canonical manifest (Signer: its public key; Signature: base64), which is checked before it is kept.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SignImageRequest(string? PrivateKey = null, string? Signer = null, string? Signature = null);

/// <summary>What verification found: blobs re-hashed, signatures checked, the site policy asked.</summary>
public sealed record VerifyReport(string Image, string Id, bool Intact, string[] Problems, SignatureInfo[] Signatures, bool Admitted, string? PolicyDetail);

/// <summary>POST /v1/workspaces/NAME/snapshot: a running workspace's disk and RAM become a template image.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SnapshotRequest(string As, string[]? Tags = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CheckinRequest(string As, bool Encrypt = false, string[]? Tags = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record FlattenRequest(string As, string[]? Tags = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CopyWorkspaceRequest(string Name);

/// <summary>POST /v1/images/{image}/reseal: seal the image's key also to another host's X25519 key.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ResealRequest(string To);

public sealed record ResealResult(string Image, string Recipient, string Fingerprint);

/// <summary>POST /v1/images/prune.</summary>
public sealed record PruneResult(string[] Removed, long FreedBytes);

/// <summary>
/// A blob's piece list, as a peer serves it beside the blob: Pieces[i] is the lowercase hex SHA-256
/// of bytes [i * PieceSize, min((i + 1) * PieceSize, Size)), so each fetched piece is checked alone.
/// </summary>
public sealed record PieceListInfo(string Sha256, long Size, int PieceSize, string[] Pieces);

/// <summary>A signer the trust store names; "host" is this host's own key.</summary>
public sealed record TrustedSignerInfo(string Name, string PublicKey, string Fingerprint, DateTimeOffset? AddedAt);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AddTrustRequest(string Name, string PublicKey);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateWorkspaceRequest(
    string Name,
    string Image,
    int? Vcpus = null,
    int? MemoryMiB = null,
    string? Cmdline = null,
    int? CpuQuotaPercent = null,
    int? CpuWeight = null,
    int? TasksMax = null,
    int? IoWeight = null,
    bool AcceptOffer = false,
    string? Network = null,
    string? Egress = null,
    int? RateKbit = null,
    string? UserData = null,
    string[]? SshKeys = null,
    Dictionary<string, string>? Secrets = null,
    string? CpuModel = null);

/// <summary>The size of a workspace as admission sees it; a 409 may carry one as a counter-offer.</summary>
public sealed record WorkspaceShape(int Vcpus, int MemoryMiB);

/// <summary>PATCH /v1/workspaces/{name}/resources: renegotiate limits, live when running. Null keeps a value.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SetResourcesRequest(
    int? CpuQuotaPercent = null,
    int? CpuWeight = null,
    int? MemoryMiB = null,
    int? TasksMax = null,
    int? IoWeight = null);

/// <summary>A workspace: its spec, its state and why it is in that state.</summary>
public sealed record WorkspaceInfo(
    string Id,
    string Name,
    uint Owner,
    string Image,
    string ImageName,
    int Vcpus,
    int MemoryMiB,
    string? Cmdline,
    string State,
    string? Reason,
    int? Pid,
    string? Accelerator,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int? CpuQuotaPercent = null,
    int? CpuWeight = null,
    int? TasksMax = null,
    int? IoWeight = null,
    string? Unit = null,
    NicInfo? Nic = null,
    GuestAgentInfo? Agent = null,
    string? CpuModel = null,
    string? CopiedFrom = null);

/// <summary>A workspace's NIC and its policy: where it is plugged, its MAC and address, what it may reach.</summary>
public sealed record NicInfo(string Network, string Mac, string? Address, string Tap, string Egress, int? RateKbit, string[] Forwards, string[]? Rules = null);

/// <summary>POST /v1/workspaces/{name}/disks: a blank data disk of Size ("10G", "512M", bytes) or an overlay of Image's disk; one of the two.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AddDiskRequest(string Name, string? Size = null, string? Image = null);

/// <summary>
/// A workspace's data disk. Serial is what the guest reads in /sys/block/*/serial; GuestDevice, while it is
/// attached, is the stable path a guest with udev has for it. Slot is its hot-plug port (and plug order).
/// </summary>
public sealed record DataDiskInfo(
    string Name, string Kind, long SizeBytes, string? Image, string Serial, int Slot, bool Sealed, bool Attached, string? GuestDevice, DateTimeOffset CreatedAt);

/// <summary>POST /v1/networks.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
/// <remarks>
/// Vni and Span (issue #17) make a spanning network: one L2 segment over this host and the peers named,
/// VXLAN with this VNI inside a WireGuard tunnel between the hosts. Create it on each member host with the
/// same VNI and subnet; each host leases only from its own slice of the subnet (the member hosts ordered by
/// tunnel address, the subnet cut in that many equal parts), so no two hosts lease the same address.
/// Mtu is the span's one MTU, the same on every member host: without it, the host takes the smallest
/// underlay MTU among itself and the peers named, less 130 (WireGuard 80, VXLAN 50); with it, a host whose
/// underlay cannot carry it refuses. Slice ([first, last] host offsets into the subnet) is this host's share
/// of the addresses when a span grows to it later (the host that grows the span cedes it); without it the
/// share is cut from the tunnel-address order. A host's share is recorded and kept.
/// </remarks>
public sealed record CreateNetworkRequest(string Name, string Subnet, bool Nat = false, bool Isolated = false, bool IsolateOwners = false, string? Egress = null,
    int? Vni = null, string[]? Span = null, int? Mtu = null, int[]? Slice = null);

/// <summary>
/// PUT /v1/networks/{name}/span: a spanning network now reaches exactly these peers (a host joined it
/// later, or the same list again: idempotent). Its VNI, subnet and MTU stay, and so does this host's share of
/// the addresses unless Slice ([first, last] host offsets) gives a new one: the host growing the span cedes
/// part of its own to the new hosts, and refuses (409) when an address it has leased would fall outside.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SpanNetworkRequest(string[] Span, int[]? Slice = null);

/// <summary>A network: its bridge and subnet, its policy, and (when shown alone) its NICs, leases and rules.</summary>
public sealed record NetworkInfo(
    string Name, string Bridge, string Subnet, string Gateway, bool Nat, bool Isolated, bool IsolateOwners, string Egress,
    DateTimeOffset CreatedAt, NetworkNic[]? Nics = null, string[]? Leases = null, string[]? Rules = null, int? Vni = null, string[]? Span = null, int? Mtu = null);

/// <summary>A NIC on a network; Address is null while its workspace does not run (addresses are leased at start).</summary>
public sealed record NetworkNic(string Workspace, string Mac, string? Address, string Tap);

/// <summary>POST /v1/workspaces/{name}/forwards: a host port forwarded to a port of the workspace.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ExposeRequest(int HostPort, int GuestPort, string Protocol = "tcp");

/// <summary>GET /v1/workspaces/{name}/status: the recorded state beside what the hypervisor says right now.</summary>
public sealed record GuestStatus(string State, string? Hypervisor, int? Pid);

/// <summary>A long action: answered 202, then followed until done, canceled or failed.</summary>
public sealed record OperationInfo(
    string Id,
    string Kind,
    string Target,
    string Status,
    double Progress,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string? Detail = null,
    TransferInfo? Transfer = null);

/// <summary>
/// A transfer's state inside its operation (a pull from peers): bytes in hand of bytes to fetch (resumed
/// bytes already on disk count as in hand), the rate of the last seconds, the peers serving, and those
/// dropped for a bad piece or a lost connection. A live move's also says its Phase (disk, ram, switchover,
/// done), the guest's dirty pages per second and the downtime QEMU expects.
/// </summary>
public sealed record TransferInfo(long BytesDone, long BytesTotal, long BytesResumed, double BytesPerSecond, string[] Peers, string[] BadPeers,
    string? Phase = null, long? DirtyPagesRate = null, long? ExpectedDowntimeMs = null);

/// <summary>One line of GET /v1/events.</summary>
public sealed record EventInfo(
    DateTimeOffset Time,
    string Type,
    string? Workspace,
    string? State,
    string? Reason,
    OperationInfo? Operation,
    uint? Owner = null,
    string? Peer = null,
    Dictionary<string, string>? Details = null);

/// <summary>RFC 9457 problem details, as every error of the API is answered.</summary>
public sealed record Problem(string Type, string Title, int Status, string Detail, string[]? Allowed = null, WorkspaceShape? Offer = null);

public static class OperationStatus
{
    public const string Running = "running";
    public const string Done = "done";
    public const string Canceled = "canceled";
    public const string Failed = "failed";
}

public static class WorkspaceStates
{
    public const string Defined = "Defined";
    public const string Running = "Running";
    public const string Paused = "Paused";
    public const string Stopped = "Stopped";
    /// <summary>Stopped with its RAM and device state saved (ws stop --stateful): the next start continues where it was.</summary>
    public const string Saved = "Saved";
    public const string Failed = "Failed";
    /// <summary>A move's outcome is not known yet: no copy of it runs here until `ws move NAME PEER --recover` (or the daemons) settle it.</summary>
    public const string MigrationUnknown = "MigrationUnknown";
}

/// <summary>POST /v1/identity/verify: a workspace identity document (its text, as ws identity prints it) and the host key to check it against (null: this host's).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record IdentityVerifyRequest(string Document, string? HostKey = null);

/// <summary>The verdict on an identity document: valid, or every problem found; what it claims when it could be read.</summary>
public sealed record IdentityVerifyResult(
    bool Valid,
    string[] Problems,
    string CheckedAgainst,
    string? WorkspaceId = null,
    string? Name = null,
    uint? Owner = null,
    string? Image = null,
    string? HostName = null,
    string? IssuedAt = null,
    string? WorkspaceKey = null);

/// <summary>GET /v1/workspaces/NAME/job: cloud-init's result for the workspace's boot (the job its user-data ran). Status: done, error or running.</summary>
public sealed record JobResult(string Status, string[] Errors);
