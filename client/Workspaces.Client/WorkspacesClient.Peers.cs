namespace Workspaces.Client;

/// <summary>/v1/peers: the hosts this one federates with.</summary>
public sealed partial class WorkspacesClient
{
    public Task<PeerTokenInfo> CreatePeerTokenAsync(TimeSpan? expires, CancellationToken ct = default) =>
        PostAsync("v1/peers/tokens", new CreatePeerTokenRequest(expires is { } e ? (long)e.TotalSeconds : null),
            Json.CreatePeerTokenRequest, Json.PeerTokenInfo, ct);

    public Task<PeerInfo> AddPeerAsync(AddPeerRequest request, CancellationToken ct = default) =>
        PostAsync("v1/peers", request, Json.AddPeerRequest, Json.PeerInfo, ct);

    public Task<PeerInfo[]> ListPeersAsync(CancellationToken ct = default) => GetAsync("v1/peers", Json.PeerInfoArray, ct);

    public Task<PeerInfo> GetPeerAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/peers/{Uri.EscapeDataString(name)}", Json.PeerInfo, ct);

    public Task RemovePeerAsync(string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/peers/{Uri.EscapeDataString(name)}", ct);
}

/// <summary>POST /v1/images/pull: images fetched from peers.</summary>
public sealed partial class WorkspacesClient
{
    /// <summary>Starts a pull; the operation it answers carries the transfer's bytes, rate and peers.</summary>
    public Task<OperationInfo> StartPullAsync(PullImageRequest request, CancellationToken ct = default) =>
        PostAsync("v1/images/pull", request, Json.PullImageRequest, Json.OperationInfo, ct);

    /// <summary>Pulls and waits; returns the image pulled.</summary>
    public async Task<ImageInfo> PullImageAsync(PullImageRequest request, CancellationToken ct = default)
    {
        var op = await StartPullAsync(request, ct);
        EnsureDone(await WaitOperationAsync(op.Id, ct: ct));
        return await GetImageAsync(request.Image, ct);
    }
}
