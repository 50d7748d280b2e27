namespace Workspaces.Client;

// A workspace's guest: its identity document, checking one, and its boot job's result.
public sealed partial class WorkspacesClient
{
    /// <summary>The identity document, exactly as the daemon signed it (its text is what verifies).</summary>
    public async Task<string> GetIdentityAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/identity", ct);
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadAsStringAsync(ct)).TrimEnd('\n');
    }

    public Task<IdentityVerifyResult> VerifyIdentityAsync(IdentityVerifyRequest request, CancellationToken ct = default) =>
        PostAsync("v1/identity/verify", request, Json.IdentityVerifyRequest, Json.IdentityVerifyResult, ct);

    /// <summary>Waits (up to timeout on the daemon's side) for cloud-init's result of the workspace's boot.</summary>
    public Task<JobResult> WaitJobAsync(string name, TimeSpan? timeout = null, CancellationToken ct = default) =>
        GetAsync($"v1/workspaces/{Uri.EscapeDataString(name)}/job" + (timeout is { } t ? $"?timeout={t.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : ""),
            Json.JobResult, ct);
}
