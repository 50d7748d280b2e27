using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Workspaces.Client;

// Through a running workspace's guest agent: exec, files, run.
public sealed partial class WorkspacesClient
{
    /// <summary>The size header of GET .../files (Api/GuestEndpoints).</summary>
    public const string FileSizeHeader = "Workspaces-File-Size";

    /// <summary>One workspace with what its guest agent says (answering, OS, addresses): a bounded wait when no agent answers.</summary>
    public Task<WorkspaceInfo> GetWorkspaceWithAgentAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}?agent=true", Json.WorkspaceInfo, ct);

    /// <summary>Runs a command in the workspace; frames as they come (output, then the exit, a timeout or an error).</summary>
    public IAsyncEnumerable<ExecFrame> ExecAsync(string name, ExecRequest request, CancellationToken ct = default) =>
        FramesAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/exec", JsonContent.Create(request, Json.ExecRequest), ct);

    /// <summary>ws run: a workspace made for one command and removed after it; frames as they come.</summary>
    public IAsyncEnumerable<ExecFrame> RunAsync(RunRequest request, CancellationToken ct = default) =>
        FramesAsync("v1/run", JsonContent.Create(request, Json.RunRequest), ct);

    private async IAsyncEnumerable<ExecFrame> FramesAsync(string uri, HttpContent content, [EnumeratorCancellation] CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            yield return JsonSerializer.Deserialize(line, Json.ExecFrame)!;
        }
    }

    /// <summary>Copies a guest file into destination; progress gets (bytes so far, total size).</summary>
    public async Task<long> DownloadFileAsync(string name, string guestPath, Stream destination, Action<long, long>? progress = null, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/files?path={Uri.EscapeDataString(guestPath)}",
            HttpCompletionOption.ResponseHeadersRead, ct);
        await EnsureSuccessAsync(response, ct);
        long total = response.Headers.TryGetValues(FileSizeHeader, out var values) && long.TryParse(values.FirstOrDefault(), out long size) ? size : -1;
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[1 << 20];
        long done = 0;
        int n;
        while ((n = await body.ReadAsync(buffer, ct)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, n), ct);
            done += n;
            progress?.Invoke(done, total);
        }
        return done;
    }

    /// <summary>Writes source to a guest file (a temporary name there, renamed once whole); progress gets bytes sent.</summary>
    public async Task<GuestFileInfo> UploadFileAsync(string name, string guestPath, Stream source, Action<long>? progress = null, CancellationToken ct = default)
    {
        await using var counted = new CountingStream(source, progress is null ? null : new Progress<long>(progress));
        var content = new StreamContent(counted, 1 << 20);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.PutAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/files?path={Uri.EscapeDataString(guestPath)}", content, ct);
        return await ReadAsync(response, Json.GuestFileInfo, ct);
    }
}
