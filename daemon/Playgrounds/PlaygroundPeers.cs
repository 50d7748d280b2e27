using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// A playground's members and network on a peer, made and acted on through the peer proxy (pinned
/// mTLS; the peer runs each request against its own API as its admins, as `ws --peer` does). The
/// peer's own API does the work (admission, anti-spoofing, the spanning network, image pulls, data
/// disks), so a remote member is an ordinary workspace there: `ws list` on that host shows it (and the
/// peer records it as the playground's through PlaygroundPeerEntries). Actions wait for their operation:
/// a playground's action answers when every member, on every host, is done.
/// </summary>
public sealed class PlaygroundPeers(PeerProxy proxy)
{
    private static WorkspacesJson Json => WorkspacesJson.Default;

    public Task CreateNetworkAsync(string peer, CreateNetworkRequest request, CancellationToken ct) =>
        DoAsync(peer, HttpMethod.Post, "/v1/networks", JsonContent.Create(request, Json.CreateNetworkRequest), ct);

    /// <summary>The peer's side of a spanning network now reaches exactly these hosts (by the names the peer knows them by).</summary>
    public Task SpanNetworkAsync(string peer, string name, string[] span, CancellationToken ct) =>
        DoAsync(peer, HttpMethod.Put, $"/v1/networks/{Uri.EscapeDataString(name)}/span", JsonContent.Create(new SpanNetworkRequest(span), Json.SpanNetworkRequest), ct);

    public async Task<NetworkInfo[]> NetworksAsync(string peer, CancellationToken ct) =>
        await ReadAsync(peer, "/v1/networks", Json.NetworkInfoArray, ct);

    /// <summary>Removes the network; one already gone is not an error (an undo or an rm asked again).</summary>
    public async Task DeleteNetworkAsync(string peer, string name, CancellationToken ct)
    {
        try
        {
            await DoAsync(peer, HttpMethod.Delete, $"/v1/networks/{Uri.EscapeDataString(name)}", null, ct);
        }
        catch (WorkspacesException e) when (e.Status == 404) { }
    }

    public Task CreateMemberAsync(string peer, CreateWorkspaceRequest request, CancellationToken ct) =>
        DoAsync(peer, HttpMethod.Post, "/v1/workspaces", JsonContent.Create(request, Json.CreateWorkspaceRequest), ct);

    /// <summary>Removes the member, stopping it; one already gone is not an error.</summary>
    public async Task DeleteMemberAsync(string peer, string name, CancellationToken ct)
    {
        try
        {
            await DoAsync(peer, HttpMethod.Delete, $"/v1/workspaces/{Uri.EscapeDataString(name)}?force=true", null, ct);
        }
        catch (WorkspacesException e) when (e.Status == 404) { }
    }

    /// <summary>The member as its host sees it, or null if its host has no such workspace.</summary>
    public async Task<WorkspaceInfo?> MemberAsync(string peer, string name, CancellationToken ct)
    {
        try
        {
            return await ReadAsync(peer, $"/v1/workspaces/{Uri.EscapeDataString(name)}", Json.WorkspaceInfo, ct);
        }
        catch (WorkspacesException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>start, stop, pause or resume (stop may be stateful) on the peer, waited for to its end.</summary>
    public async Task ActAsync(string peer, string name, string action, bool stateful, CancellationToken ct)
    {
        string path = $"/v1/workspaces/{Uri.EscapeDataString(name)}/{action}" + (stateful ? "?stateful=true" : "");
        var done = await OperationAsync(peer, path, null, $"{action} of {name}", ct);
        if (done.Status != OperationStatus.Done)
            throw WorkspacesException.Conflict($"{action} of member {Core.Names.Quote(name)} on peer '{peer}' {done.Status}: {done.Error}");
    }

    /// <summary>
    /// The peer pulls an image by fingerprint from its own peers (the federation's pull there, its trust
    /// policy applying), waited for to its end; the finished operation says whether it came.
    /// </summary>
    public Task<OperationInfo> PullAsync(string peer, string fingerprint, CancellationToken ct) =>
        OperationAsync(peer, "/v1/images/pull", JsonContent.Create(new PullImageRequest(fingerprint), Json.PullImageRequest), $"pull of {fingerprint[..12]}", ct);

    /// <summary>A blank data disk on the peer's member (its own data disk API), attached at its next start.</summary>
    public Task AddDiskAsync(string peer, string name, string disk, string size, CancellationToken ct) =>
        DoAsync(peer, HttpMethod.Post, $"/v1/workspaces/{Uri.EscapeDataString(name)}/disks", JsonContent.Create(new AddDiskRequest(disk, size), Json.AddDiskRequest), ct);

    private async Task<OperationInfo> OperationAsync(string peer, string path, HttpContent? body, string what, CancellationToken ct)
    {
        using var started = await SendAsync(peer, HttpMethod.Post, path, body, ct);
        var op = await started.Content.ReadFromJsonAsync(Json.OperationInfo, ct)
                 ?? throw new WorkspacesException(502, "Peer error", $"peer '{peer}' answered {what} with no operation");
        return await ReadAsync(peer, $"/v1/operations/{op.Id}/wait", Json.OperationInfo, ct);
    }

    /// <summary>Writes a file in a running member through its host's guest agent.</summary>
    public Task WriteFileAsync(string peer, string name, string path, string text, CancellationToken ct) =>
        DoAsync(peer, HttpMethod.Put, $"/v1/workspaces/{Uri.EscapeDataString(name)}/files?path={Uri.EscapeDataString(path)}",
            new ByteArrayContent(Encoding.UTF8.GetBytes(text)), ct);

    /// <summary>Runs a command in a running member through its host's guest agent; a non-zero exit is a failure.</summary>
    public async Task ExecAsync(string peer, string name, string[] command, CancellationToken ct)
    {
        using var response = await SendAsync(peer, HttpMethod.Post, $"/v1/workspaces/{Uri.EscapeDataString(name)}/exec",
            JsonContent.Create(new ExecRequest(command, TimeoutSeconds: 30), Json.ExecRequest), ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            var frame = System.Text.Json.JsonSerializer.Deserialize(line, Json.ExecFrame);
            if (frame?.Exit is { } code && code != 0)
                throw WorkspacesException.Conflict($"{string.Join(' ', command)} in {name} on peer '{peer}' exited {code}");
        }
    }

    private async Task<T> ReadAsync<T>(string peer, string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await SendAsync(peer, HttpMethod.Get, path, null, ct);
        return await response.Content.ReadFromJsonAsync(type, ct)
               ?? throw new WorkspacesException(502, "Peer error", $"peer '{peer}' answered an empty body to {path}");
    }

    private async Task DoAsync(string peer, HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        using var response = await SendAsync(peer, method, path, body, ct);
    }

    private Task<HttpResponseMessage> SendAsync(string peer, HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        int q = path.IndexOf('?');
        var request = new HttpRequestMessage(method, (Uri?)null) { Content = body };
        return proxy.SendToPeerAsync(peer, q < 0 ? path : path[..q], q < 0 ? "" : path[(q + 1)..], request, ct);
    }
}
