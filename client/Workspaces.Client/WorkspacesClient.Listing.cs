namespace Workspaces.Client;

/// <summary>GET /v1/workspaces a page at a time: filters, a page size and the cursor the daemon handed out.</summary>
public sealed partial class WorkspacesClient
{
    public const string NextCursorHeader = "Next-Cursor";

    /// <summary>One page; NextCursor is null on the last one.</summary>
    public async Task<WorkspacePage> ListWorkspacesPageAsync(WorkspaceFilter filter, int limit, string? cursor, CancellationToken ct = default)
    {
        var query = new List<string> { $"limit={limit}" };
        if (filter.State is { } state) query.Add($"state={Uri.EscapeDataString(state)}");
        if (filter.Image is { } image) query.Add($"image={Uri.EscapeDataString(image)}");
        if (filter.Prefix is { } prefix) query.Add($"prefix={Uri.EscapeDataString(prefix)}");
        if (cursor is not null) query.Add($"cursor={Uri.EscapeDataString(cursor)}");
        using var response = await _http.GetAsync($"v1/workspaces?{string.Join('&', query)}", ct);
        var items = await ReadAsync(response, Json.WorkspaceInfoArray, ct);
        return new WorkspacePage(items, response.Headers.TryGetValues(NextCursorHeader, out var next) ? next.FirstOrDefault() : null);
    }

    /// <summary>Every matching workspace, fetched page after page and handed on as each page arrives.</summary>
    public async IAsyncEnumerable<WorkspaceInfo[]> ListWorkspacePagesAsync(WorkspaceFilter filter, int limit,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        string? cursor = null;
        do
        {
            var page = await ListWorkspacesPageAsync(filter, limit, cursor, ct);
            yield return page.Items;
            cursor = page.NextCursor;
        } while (cursor is not null);
    }
}

/// <summary>What a listing narrows to (null: any).</summary>
public sealed record WorkspaceFilter(string? State = null, string? Image = null, string? Prefix = null);

/// <summary>One page of workspaces and the cursor of the next (null: this was the last).</summary>
public sealed record WorkspacePage(WorkspaceInfo[] Items, string? NextCursor);
