namespace Workspaces.Client;

/// <summary>Playgrounds: apply a document, list and show them, act on all members at once.</summary>
public sealed partial class WorkspacesClient
{
    public Task<PlaygroundPlan> ApplyPlaygroundAsync(string document, bool yes, CancellationToken ct = default) =>
        PostAsync("v1/playgrounds", new ApplyPlaygroundRequest(document, yes), Json.ApplyPlaygroundRequest, Json.PlaygroundPlan, ct);

    public Task<PlaygroundInfo[]> ListPlaygroundsAsync(CancellationToken ct = default) =>
        GetAsync("v1/playgrounds", Json.PlaygroundInfoArray, ct);

    public Task<PlaygroundInfo> GetPlaygroundAsync(string name, CancellationToken ct = default) =>
        GetAsync($"v1/playgrounds/{Uri.EscapeDataString(name)}", Json.PlaygroundInfo, ct);

    /// <summary>start, stop, pause, resume, save or restore every member; answers when all are done.</summary>
    public async Task<PlaygroundInfo> ActOnPlaygroundAsync(string name, string action, CancellationToken ct = default)
    {
        using var response = await _http.PostAsync($"v1/playgrounds/{Uri.EscapeDataString(name)}/{action}", content: null, ct);
        return await ReadAsync(response, Json.PlaygroundInfo, ct);
    }

    public Task DeletePlaygroundAsync(string name, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"v1/playgrounds/{Uri.EscapeDataString(name)}", ct);
}
