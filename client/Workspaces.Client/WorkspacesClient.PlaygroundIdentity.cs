namespace Workspaces.Client;

/// <summary>A playground's identity document, checking one, and its export.</summary>
public sealed partial class WorkspacesClient
{
    /// <summary>The playground's identity document, exactly as the daemon signed it (its text is what verifies).</summary>
    public async Task<string> GetPlaygroundIdentityAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"v1/playgrounds/{Uri.EscapeDataString(name)}/identity", ct);
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadAsStringAsync(ct)).TrimEnd('\n');
    }

    /// <summary>The document last applied with each role pinned to its image by fingerprint (YAML), to apply at another site.</summary>
    public async Task<string> ExportPlaygroundAsync(string name, CancellationToken ct = default)
    {
        using var response = await _http.GetAsync($"v1/playgrounds/{Uri.EscapeDataString(name)}/export", ct);
        await EnsureSuccessAsync(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public Task<PlaygroundVerifyResult> VerifyPlaygroundIdentityAsync(string document, CancellationToken ct = default) =>
        PostAsync("v1/playgrounds/verify", new PlaygroundVerifyRequest(document), Json.PlaygroundVerifyRequest, Json.PlaygroundVerifyResult, ct);
}
