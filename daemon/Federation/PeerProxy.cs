using Workspaces.Client;
using Microsoft.Extensions.Options;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Federation;

/// <summary>
/// `ws --peer PEER ...`, both legs. A local admin's request goes to the peer's /v1/peer/proxy over the
/// pinned mTLS channel; a peer's request arriving there is sent to this host's own Unix socket, where
/// SO_PEERCRED makes this daemon (root) the caller: a peer acts as this host's admins do, as peers do
/// everywhere in the peer API (DESIGN §8: peers are hosts; local admins act through them). Workspaces it
/// creates belong to root here. Responses are streamed both ways (consoles and events never end).
/// </summary>
public sealed class PeerProxy(PeerDirectory directory, PeerChannel channel, IOptionsMonitor<WorkspacesOptions> options) : IDisposable
{
    public const string PeerPrefix = "/v1/peer/proxy";

    private readonly Lazy<HttpClient> _self = new(() => SelfClient(options.CurrentValue.Socket));

    /// <summary>Sends a local admin's request to a peer; a problem the peer answered becomes a WorkspacesException naming it.</summary>
    public Task<HttpResponseMessage> SendToPeerAsync(string peerName, string path, string query, HttpRequestMessage request, CancellationToken ct)
    {
        var peer = directory.Get(peerName);
        request.RequestUri = new Uri(PeerPrefix[1..] + path + (query.Length > 0 ? "?" + query : ""), UriKind.Relative);
        return PeerCall.SendAsync(channel.ForProxy(peer.Address, peer.TlsFingerprint), peer.Name, request, ct, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Sends a peer's request to this host's own API, as this host's admins; its answer, errors included, is relayed as it is.</summary>
    public async Task<HttpResponseMessage> SendToSelfAsync(string path, string query, HttpRequestMessage request, CancellationToken ct)
    {
        request.RequestUri = new Uri(path[1..] + (query.Length > 0 ? "?" + query : ""), UriKind.Relative);
        try
        {
            return await _self.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new WorkspacesException(502, "Proxy failed", $"this host's own API did not answer the proxied request: {e.Message}");
        }
    }

    private static HttpClient SelfClient(string socket) =>
        new(WorkspacesClient.UnixSocketHandler(socket)) { BaseAddress = new Uri("http://workspaces/"), Timeout = Timeout.InfiniteTimeSpan };

    public void Dispose()
    {
        if (_self.IsValueCreated) _self.Value.Dispose();
    }
}
