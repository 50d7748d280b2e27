using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Win32.SafeHandles;

namespace Workspaces.Client;

/// <summary>Typed client of workspacesd's /v1 API over its Unix socket.</summary>
public sealed partial class WorkspacesClient : IDisposable
{
    public const string DefaultSocket = "/run/workspaces/workspaces.sock";

    private readonly HttpClient _http;

    public WorkspacesClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = UnixSocketHandler(socketPath);
        _http = new HttpClient(new OwnerHandler(this) { InnerHandler = new PeerHandler(this) { InnerHandler = handler } }) { BaseAddress = new Uri("http://workspaces/"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public string SocketPath { get; }

    /// <summary>HTTP over workspacesd's Unix socket (also the daemon's own, when it relays a peer's request to itself).</summary>
    public static SocketsHttpHandler UnixSocketHandler(string socketPath) => new()
    {
        ConnectCallback = async (_, token) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>
    /// Workspace names are per owner. An admin acts on another user's workspaces by naming the owner:
    /// every request under /v1/workspaces then carries ?owner=UID.
    /// </summary>
    public uint? Owner { get; init; }

    private sealed class OwnerHandler(WorkspacesClient client) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (client.Owner is { } owner && request.RequestUri is { } uri && uri.AbsolutePath.StartsWith("/v1/workspaces", StringComparison.Ordinal))
                request.RequestUri = new UriBuilder(uri) { Query = (uri.Query.Length > 1 ? uri.Query[1..] + "&" : "") + $"owner={owner}" }.Uri;
            return base.SendAsync(request, ct);
        }
    }

    private static WorkspacesJson Json => WorkspacesJson.Default;

    public Task<HostInfo> GetHostAsync(CancellationToken ct = default) => GetAsync("v1/host", Json.HostInfo, ct);

    public Task<ImageInfo[]> ListImagesAsync(CancellationToken ct = default) => GetAsync("v1/images", Json.ImageInfoArray, ct);

    public Task<ImageInfo> GetImageAsync(string image, CancellationToken ct = default) =>
        GetAsync($"v1/images/{Uri.EscapeDataString(image)}", Json.ImageInfo, ct);

    /// <summary>Uploads an image (a disk, a kernel+initrd boot set, or both) in one streamed request.</summary>
    public async Task<ImageInfo> ImportImageAsync(ImageUpload upload, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        using var form = new MultipartFormDataContent();
        form.Add(new StringContent(upload.Name), "name");
        if (upload.Cmdline is not null) form.Add(new StringContent(upload.Cmdline), "cmdline");
        if (upload.Encrypt) form.Add(new StringContent("true"), "encrypt");
        if (upload.Tags is { Length: > 0 } tags) form.Add(new StringContent(string.Join(' ', tags)), "tags");
        var streams = new List<Stream>();
        try
        {
            long sent = 0;
            var counter = progress is null ? null : new Progress<long>(n => progress.Report(Interlocked.Add(ref sent, n)));
            foreach (var (part, path) in new[] { ("kernel", upload.KernelPath), ("initrd", upload.InitrdPath), ("disk", upload.DiskPath) })
            {
                if (path is null) continue;
                var stream = new CountingStream(File.OpenRead(path), counter);
                streams.Add(stream);
                var content = new StreamContent(stream, 1 << 20);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                form.Add(content, part, Path.GetFileName(path));
            }
            using var response = await _http.PostAsync("v1/images", form, ct);
            return await ReadAsync(response, Json.ImageInfo, ct);
        }
        finally
        {
            foreach (var s in streams) await s.DisposeAsync();
        }
    }

    /// <summary>
    /// Imports files on this host without sending their bytes: they stay open here while the daemon
    /// reopens them through /proc (so it reads only what this process could) and copies them itself.
    /// </summary>
    public async Task<ImageInfo> ImportLocalImageAsync(ImageUpload upload, CancellationToken ct = default)
    {
        var files = new List<SafeFileHandle>();
        try
        {
            int? Open(string? path)
            {
                if (path is null) return null;
                var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
                files.Add(handle);
                return (int)handle.DangerousGetHandle();
            }
            var request = new LocalImportRequest(upload.Name, Open(upload.DiskPath), Open(upload.KernelPath), Open(upload.InitrdPath),
                upload.Cmdline, upload.Encrypt, upload.Tags);
            return await PostAsync("v1/images", request, Json.LocalImportRequest, Json.ImageInfo, ct);
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    public Task DeleteImageAsync(string image, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/images/{Uri.EscapeDataString(image)}", ct);

    public Task<ImageManifestInfo> GetManifestAsync(string image, CancellationToken ct = default) =>
        GetAsync($"v1/images/{Uri.EscapeDataString(image)}/manifest", Json.ImageManifestInfo, ct);

    public Task<SignatureInfo> SignImageAsync(string image, SignImageRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/images/{Uri.EscapeDataString(image)}/signatures", request, Json.SignImageRequest, Json.SignatureInfo, ct);

    public async Task<VerifyReport> VerifyImageAsync(string image, CancellationToken ct = default)
    {
        using var response = await _http.PostAsync($"v1/images/{Uri.EscapeDataString(image)}/verify", content: null, ct);
        return await ReadAsync(response, Json.VerifyReport, ct);
    }

    public async Task<VerifyReport[]> VerifyAllImagesAsync(CancellationToken ct = default)
    {
        using var response = await _http.PostAsync("v1/images/verify", content: null, ct);
        return await ReadAsync(response, Json.VerifyReportArray, ct);
    }

    /// <summary>Flattens and waits; returns the new image.</summary>
    public async Task<ImageInfo> FlattenImageAsync(string image, FlattenRequest request, CancellationToken ct = default)
    {
        var op = await PostAsync($"v1/images/{Uri.EscapeDataString(image)}/flatten", request, Json.FlattenRequest, Json.OperationInfo, ct);
        EnsureDone(await WaitOperationAsync(op.Id, ct: ct));
        return await GetImageAsync(request.As, ct);
    }

    /// <summary>Checks a stopped workspace in as an image and waits; returns the new image.</summary>
    public async Task<ImageInfo> CheckinAsync(string workspace, CheckinRequest request, CancellationToken ct = default)
    {
        var op = await PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/checkin", request, Json.CheckinRequest, Json.OperationInfo, ct);
        EnsureDone(await WaitOperationAsync(op.Id, ct: ct));
        return await GetImageAsync(request.As, ct);
    }

    /// <summary>Makes a template of a running workspace (its disk and RAM) and waits; returns the new image.</summary>
    public async Task<ImageInfo> SnapshotAsync(string workspace, SnapshotRequest request, CancellationToken ct = default)
    {
        var op = await PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/snapshot", request, Json.SnapshotRequest, Json.OperationInfo, ct);
        EnsureDone(await WaitOperationAsync(op.Id, ct: ct));
        return await GetImageAsync(request.As, ct);
    }

    public Task<WorkspaceInfo> CopyWorkspaceAsync(string workspace, string newName, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/copy", new CopyWorkspaceRequest(newName), Json.CopyWorkspaceRequest, Json.WorkspaceInfo, ct);

    /// <summary>Streams an image with its chain as a tar archive into a file (written aside, then renamed).</summary>
    public async Task ExportImageAsync(string image, string path, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"v1/images/{Uri.EscapeDataString(image)}/export", HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        string partial = path + ".partial";
        try
        {
            await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                await response.Content.CopyToAsync(file, ct);
                file.Flush(flushToDisk: true);
            }
            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    /// <summary>Uploads an archive made by export.</summary>
    public async Task<ImageInfo> ImportArchiveAsync(string path, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        await using var stream = new CountingStream(File.OpenRead(path), progress is null ? null : new Progress<long>(n => progress.Report(n)));
        var content = new StreamContent(stream, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        using var response = await _http.PostAsync("v1/images", content, ct);
        return await ReadAsync(response, Json.ImageInfo, ct);
    }

    public Task<ResealResult> ResealImageAsync(string image, string recipient, CancellationToken ct = default) =>
        PostAsync($"v1/images/{Uri.EscapeDataString(image)}/reseal", new ResealRequest(recipient), Json.ResealRequest, Json.ResealResult, ct);

    public async Task<PruneResult> PruneImagesAsync(CancellationToken ct = default)
    {
        using var response = await _http.PostAsync("v1/images/prune", content: null, ct);
        return await ReadAsync(response, Json.PruneResult, ct);
    }

    public Task<TrustedSignerInfo[]> ListTrustAsync(CancellationToken ct = default) => GetAsync("v1/trust", Json.TrustedSignerInfoArray, ct);

    public Task<TrustedSignerInfo> AddTrustAsync(string name, string publicKey, CancellationToken ct = default) =>
        PostAsync("v1/trust", new AddTrustRequest(name, publicKey), Json.AddTrustRequest, Json.TrustedSignerInfo, ct);

    public Task RemoveTrustAsync(string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/trust/{Uri.EscapeDataString(name)}", ct);

    public Task<NetworkInfo[]> ListNetworksAsync(CancellationToken ct = default) => GetAsync("v1/networks", Json.NetworkInfoArray, ct);

    public Task<NetworkInfo> GetNetworkAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/networks/{Uri.EscapeDataString(name)}", Json.NetworkInfo, ct);

    public Task<NetworkInfo> CreateNetworkAsync(CreateNetworkRequest request, CancellationToken ct = default) =>
        PostAsync("v1/networks", request, Json.CreateNetworkRequest, Json.NetworkInfo, ct);

    public Task DeleteNetworkAsync(string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/networks/{Uri.EscapeDataString(name)}", ct);

    public Task<DataDiskInfo[]> ListDisksAsync(string workspace, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/disks", Json.DataDiskInfoArray, ct);

    /// <summary>Adds a data disk; a running workspace gets it hot-plugged, a stopped one at its next start.</summary>
    public Task<DataDiskInfo> AddDiskAsync(string workspace, AddDiskRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/disks", request, Json.AddDiskRequest, Json.DataDiskInfo, ct);

    /// <summary>Removes a data disk: from a running guest it is unplugged first, and the guest must let go of it.</summary>
    public Task RemoveDiskAsync(string workspace, string disk, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/workspaces/{Uri.EscapeDataString(workspace)}/disks/{Uri.EscapeDataString(disk)}", ct);

    public Task<WorkspaceInfo> ExposeAsync(string workspace, ExposeRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/forwards", request, Json.ExposeRequest, Json.WorkspaceInfo, ct);

    public Task<TrafficInfo> GetTrafficAsync(string workspace, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/traffic", Json.TrafficInfo, ct);

    public Task<TrafficInfo> QuarantineAsync(string workspace, QuarantineRequest request, CancellationToken ct = default) =>
        PostAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/quarantine", request, Json.QuarantineRequest, Json.TrafficInfo, ct);

    public Task<TrafficInfo> ReleaseQuarantineAsync(string workspace, CancellationToken ct = default) =>
        DeleteAsync($"v1/workspaces/{Uri.EscapeDataString(workspace)}/quarantine", Json.TrafficInfo, ct);

    public Task<WorkspaceInfo[]> ListWorkspacesAsync(CancellationToken ct = default) =>
        GetAsync("v1/workspaces", Json.WorkspaceInfoArray, ct);

    public Task<WorkspaceInfo> GetWorkspaceAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}", Json.WorkspaceInfo, ct);

    public Task<GuestStatus> GetStatusAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/status", Json.GuestStatus, ct);

    public async Task<WorkspaceInfo> CreateWorkspaceAsync(CreateWorkspaceRequest request, CancellationToken ct = default)
    {
        using var response = await _http.PostAsJsonAsync("v1/workspaces", request, Json.CreateWorkspaceRequest, ct);
        return await ReadAsync(response, Json.WorkspaceInfo, ct);
    }

    public async Task<WorkspaceInfo> SetResourcesAsync(string name, SetResourcesRequest request, CancellationToken ct = default)
    {
        using var response = await _http.PatchAsJsonAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/resources", request, Json.SetResourcesRequest, ct);
        return await ReadAsync(response, Json.WorkspaceInfo, ct);
    }

    /// <summary>start, pause, resume, stop, reboot: each answers 202 with an operation.</summary>
    public async Task<OperationInfo> ActAsync(string name, string action, string? query = null, CancellationToken ct = default)
    {
        var uri = $"v1/workspaces/{Uri.EscapeDataString(name)}/{action}" + (query is null ? "" : "?" + query);
        using var response = await _http.PostAsync(uri, content: null, ct);
        return await ReadAsync(response, Json.OperationInfo, ct);
    }

    public Task DeleteWorkspaceAsync(string name, bool force = false, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/workspaces/{Uri.EscapeDataString(name)}" + (force ? "?force=true" : ""), ct);

    /// <summary>The serial console log; with follow, a stream that keeps going as the guest writes.</summary>
    public async Task<Stream> OpenConsoleAsync(string name, bool follow, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"v1/workspaces/{Uri.EscapeDataString(name)}/console?follow={(follow ? "true" : "false")}");
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadAsStreamAsync(ct);
    }

    public Task<OperationInfo[]> ListOperationsAsync(CancellationToken ct = default) =>
        GetAsync("v1/operations", Json.OperationInfoArray, ct);

    public Task<OperationInfo> GetOperationAsync(string id, CancellationToken ct = default) =>
        GetAsync($"v1/operations/{id}", Json.OperationInfo, ct);

    /// <summary>Waits until the operation ends (or the timeout passes) and returns its latest view.</summary>
    public Task<OperationInfo> WaitOperationAsync(string id, TimeSpan? timeout = null, CancellationToken ct = default) =>
        GetAsync($"v1/operations/{id}/wait" + (timeout is { } t ? $"?timeout={(int)t.TotalSeconds}" : ""), Json.OperationInfo, ct);

    public Task CancelOperationAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/operations/{id}", ct);

    /// <summary>Runs an action and waits for it; a failed or canceled operation becomes an ApiException.</summary>
    public async Task<OperationInfo> ActAndWaitAsync(string name, string action, string? query = null, CancellationToken ct = default)
    {
        var op = await ActAsync(name, action, query, ct);
        return EnsureDone(await WaitOperationAsync(op.Id, ct: ct));
    }

    /// <summary>An operation that ended canceled or failed, as the ApiException a caller handles like any refusal.</summary>
    public static OperationInfo EnsureDone(OperationInfo op) =>
        op.Status == OperationStatus.Done
            ? op
            : throw new ApiException(new Problem("about:blank", $"{op.Kind} {op.Status}", 409, op.Error ?? $"{op.Kind} of {op.Target} {op.Status}"));

    /// <summary>GET /v1/events as an async sequence (newline-delimited JSON).</summary>
    public async IAsyncEnumerable<EventInfo> StreamEventsAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "v1/events"), HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            yield return JsonSerializer.Deserialize(line, Json.EventInfo)!;
        }
    }

    private async Task<T> GetAsync<T>(string uri, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await _http.GetAsync(uri, ct);
        return await ReadAsync(response, type, ct);
    }

    private async Task<TResult> PostAsync<TRequest, TResult>(string uri, TRequest request, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResult> resultType, CancellationToken ct)
    {
        using var response = await _http.PostAsJsonAsync(uri, request, requestType, ct);
        return await ReadAsync(response, resultType, ct);
    }

    private async Task<T> DeleteAsync<T>(string uri, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await _http.DeleteAsync(uri, ct);
        return await ReadAsync(response, type, ct);
    }

    private async Task SendAsync(HttpMethod method, string uri, CancellationToken ct)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(method, uri), ct);
        await EnsureSuccessAsync(response, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken ct)
    {
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadFromJsonAsync(type, ct))!;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        Problem? problem = null;
        try { problem = JsonSerializer.Deserialize(body, Json.Problem); } catch (JsonException) { }
        throw new ApiException(problem ?? new Problem("about:blank", response.ReasonPhrase ?? "error", (int)response.StatusCode,
            body.Length > 0 ? body.Trim() : $"the daemon answered {(int)response.StatusCode} {response.ReasonPhrase}"));
    }

    public void Dispose() => _http.Dispose();
}
