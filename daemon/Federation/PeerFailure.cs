using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>Why a call to a peer got no answer: told apart, because what the operator should do differs.</summary>
public enum PeerFault
{
    /// <summary>Nothing answered at the address (refused, no route, timed out).</summary>
    Unreachable,
    /// <summary>It answered with a certificate other than the pinned one.</summary>
    NotPinned,
    /// <summary>It closed the connection at the handshake: it does not accept this host's certificate.</summary>
    RefusedUs,
}

public sealed class PeerFailure(PeerFault fault, string message)
    : WorkspacesException(fault == PeerFault.Unreachable ? 504 : 502, fault == PeerFault.Unreachable ? "Peer unreachable" : "Peer refused", message)
{
    public PeerFault Fault { get; } = fault;
}
