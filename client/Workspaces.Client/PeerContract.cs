using System.Text.Json.Serialization;

namespace Workspaces.Client;

/// <summary>A peer as `ws peer list|show` shows it: what was pinned, and how it was at the last check.</summary>
public sealed record PeerInfo(
    string Name,
    string Address,
    string Fingerprint,
    string? SigningKey,
    string? SealingKey,
    DateTimeOffset AddedAt,
    bool Reachable,
    DateTimeOffset? Since = null,
    double? RoundTripMs = null,
    int? FreeVcpus = null,
    int? FreeMemoryMiB = null,
    int? Images = null,
    string? Error = null);

/// <summary>POST /v1/peers/tokens.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreatePeerTokenRequest(long? ExpiresSeconds = null);

public sealed record PeerTokenInfo(string Token, DateTimeOffset ExpiresAt, string[] Addresses, string Fingerprint);

/// <summary>POST /v1/peers: join with another host's token, or pin it by address and fingerprint.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AddPeerRequest(string Name, string? Token = null, string? Address = null, string? Fingerprint = null);

// The peer API (/v1/peer, daemon to daemon over mTLS).

/// <summary>POST /v1/peer/join: a host redeeming this host's token; the certificate it presented is the one recorded.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PeerJoinRequest(string Secret, string Name, string[] Addresses, string SigningKey, string SealingKey, string Binding);

/// <summary>
/// GET /v1/peer/host, and the answer to a join: who this host is (its keys, and its Ed25519
/// signature over its TLS fingerprint) and what it has free. UnderlayMtu (GET /v1/peer/host?underlay=true only) is the
/// MTU of this host's route toward the asker: what a spanning network's MTU is decided from.
/// </summary>
public sealed record PeerHostSummary(
    string Name,
    string Version,
    string[] Addresses,
    string TlsFingerprint,
    string SigningKey,
    string SealingKey,
    string Binding,
    int CapacityVcpus,
    int CapacityMemoryMiB,
    int FreeVcpus,
    int FreeMemoryMiB,
    int Images,
    string? WireGuardKey = null,
    int? UnderlayMtu = null);

/// <summary>POST /v1/images/pull: fetch an image's chain from peers (from one only with From).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PullImageRequest(string Image, string? From = null);

/// <summary>
/// One image of GET /v1/peer/images: its canonical manifest text (the receiver parses and checks it),
/// the signatures over it, its disk key sealed to recipients (never in clear), and its blobs' sizes.
/// </summary>
public sealed record PeerImageEntry(string Id, string Name, string Manifest, PeerImageSignature[] Signatures, PeerSealedKey[] SealedKeys, PeerBlobInfo[] Blobs);

public sealed record PeerImageSignature(string Signer, string Signature, long SignedAt);

public sealed record PeerSealedKey(string Recipient, string Sealed);

public sealed record PeerBlobInfo(string Sha256, long Size);
