using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>
/// GET /v1/placement: this host and every peer, best first. Ranked by whether admission would take
/// the shape, then by the bytes of the image's chain already held there, then by free capacity.
/// </summary>
public sealed record PlacementReport(
    string Image,
    string ImageName,
    long ChainBytes,
    WorkspaceShape? Shape,
    PlacementCandidate[] Candidates);

/// <summary>
/// One host as a place for the workspace. Score = 1000 if admission accepts, plus up to 900 for the
/// share of the chain's bytes held, plus up to 99 for the share of memory free; unreachable hosts
/// have none and come last.
/// </summary>
public sealed record PlacementCandidate(
    int Rank,
    string Host,
    bool Local,
    bool Reachable,
    bool Admits,
    int? Score,
    long HeldBytes,
    long ChainBytes,
    int? FreeVcpus,
    int? FreeMemoryMiB,
    string Reason,
    WorkspaceShape? Offer = null,
    double? Milliseconds = null);

// The peer API's part of placement (/v1/peer, daemon to daemon over mTLS).

/// <summary>
/// GET /v1/peer/admission?vcpus=&amp;memoryMiB=: whether this host would admit a new workspace of that
/// shape now (policy maxima and free capacity), and if not why, with its counter-offer if it has one.
/// </summary>
public sealed record PeerAdmissionAnswer(
    bool Accepts,
    WorkspaceShape Asked,
    string? Refusal,
    WorkspaceShape? Offer,
    int FreeVcpus,
    int FreeMemoryMiB,
    int CapacityVcpus,
    int CapacityMemoryMiB);

/// <summary>One blob of an image's chain: its SHA-256, size, and the image (fingerprint) it belongs to.</summary>
public sealed record ChainBlob(string Sha256, long Size, string Image);

/// <summary>GET /v1/peer/images/{image}/chain: an image's chain (image first, then its parents), as blobs.</summary>
public sealed record PeerImageChain(string Image, string Name, string[] Images, ChainBlob[] Blobs);

/// <summary>POST /v1/peer/blobs/held: which of these blobs the peer holds.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record HeldBlobsRequest(string[] Sha256);

public sealed record HeldBlobsAnswer(string[] Held);

/// <summary>`ws list --peers --json`: a workspace and the host (by its peer name) it is on.</summary>
public sealed record HostedWorkspace(string Host, WorkspaceInfo Workspace);
