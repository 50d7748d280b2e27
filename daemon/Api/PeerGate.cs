using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http.Features;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.State;
using Workspaces.Daemon.Trust;

namespace Workspaces.Daemon.Api;

/// <summary>
/// Keeps the two listeners apart and decides who a peer is. At the TLS handshake a client certificate
/// passes only if it is a peer's, a removed peer's (so that its next call is told it was removed), or
/// while a join token is open (so that a new host can redeem one); anything else is refused there and
/// logged. Per request: the peer API (/v1/peer) answers only on the peer listener, the local API only
/// on the Unix socket, and an unknown certificate may do nothing but join.
/// </summary>
public sealed class PeerGate(PeerRepository peers, ILogger<PeerGate> logger)
{
    public const string PeerPrefix = "/v1/peer";

    public bool AdmitsHandshake(X509Certificate? presented, EndPoint? remote)
    {
        if (presented is null) return false;
        string fingerprint = PeerCertificate.FingerprintOf(presented);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        bool admitted = peers.FindByFingerprint(fingerprint) is not null || peers.RemovedAt(fingerprint) is not null || peers.AnyTokenOpen(now);
        if (!admitted) PeerLog.HandshakeRefused(logger, remote?.ToString() ?? "?", fingerprint);
        return admitted;
    }

    public static bool OnPeerListener(HttpContext context) => context.Features.Get<ITlsConnectionFeature>() is not null;

    /// <summary>The caller for a request on the peer listener: the peer, acting as this host's admins do.</summary>
    public Caller Admit(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments(PeerPrefix))
            throw WorkspacesException.NotFound($"the peer listener serves only {PeerPrefix}/...");
        var presented = context.Connection.ClientCertificate
            ?? throw WorkspacesException.Forbidden("the peer API needs a client certificate");
        string fingerprint = PeerCertificate.FingerprintOf(presented);
        if (peers.FindByFingerprint(fingerprint) is { } peer) return Caller.System with { Peer = peer.Name };
        if (peers.RemovedAt(fingerprint) is { } removed)
            throw WorkspacesException.Forbidden($"this host removed you as a peer at {DateTimeOffset.FromUnixTimeSeconds(removed):u}");
        if (path.Equals(PeerPrefix + "/join") && HttpMethods.IsPost(context.Request.Method))
            return Caller.System with { Peer = "" }; // a host redeeming a token: it is no peer yet
        throw WorkspacesException.Forbidden($"certificate {fingerprint} is not a peer of this host");
    }

    /// <summary>The peer calling, by this host's name for it. Only routes under /v1/peer reach this.</summary>
    public static string PeerName(HttpContext context) => context.Caller().Peer is { Length: > 0 } name ? name
        : throw WorkspacesException.Forbidden("only peers may call this");
}
