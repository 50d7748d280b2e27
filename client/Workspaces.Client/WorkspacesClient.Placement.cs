namespace Workspaces.Client;

/// <summary>Acting on peers: placement, and every request sent through a peer (`ws --peer PEER ...`).</summary>
public sealed partial class WorkspacesClient
{
    /// <summary>
    /// The peer every request goes to, through the local daemon (as an Incus remote): each v1/... URI
    /// becomes v1/peers/{Peer}/proxy/v1/..., and the peer runs it as its admins. Null: this host.
    /// </summary>
    public string? Peer { get; init; }

    /// <summary>The same daemon and owner, acting on a peer.</summary>
    public WorkspacesClient ForPeer(string? peer) => new(SocketPath) { Owner = Owner, Peer = peer };

    public Task<PlacementReport> PlaceAsync(string image, int? vcpus, int? memoryMiB, CancellationToken ct = default)
    {
        string query = $"image={Uri.EscapeDataString(image)}" + (vcpus is { } v ? $"&vcpus={v}" : "") + (memoryMiB is { } m ? $"&memoryMiB={m}" : "");
        return GetAsync($"v1/placement?{query}", Json.PlacementReport, ct);
    }

    private sealed class PeerHandler(WorkspacesClient client) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (client.Peer is { } peer && request.RequestUri is { } uri && uri.AbsolutePath.StartsWith("/v1/", StringComparison.Ordinal))
                request.RequestUri = new Uri($"{uri.GetLeftPart(UriPartial.Authority)}/v1/peers/{Uri.EscapeDataString(peer)}/proxy{uri.PathAndQuery}");
            return base.SendAsync(request, ct);
        }
    }
}
