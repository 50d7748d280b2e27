using System.CommandLine;
using System.Text;
using Workspaces.Client;

namespace Workspaces.Cli.Commands;

/// <summary>
/// `ws list`: filters, and rows printed page by page as the daemon answers, so 10,000 workspaces show
/// their first rows as quickly as 100 do. Column widths come from the header and the first page; a
/// later cell that is wider pushes its row out rather than reflowing what is already on the screen.
/// </summary>
public static class WorkspaceList
{
    /// <summary>Small, so the first rows come at once; the rest in larger pages.</summary>
    private const int FirstPage = 100, LaterPages = 1000;

    private static readonly Option<string?> State = new("--state") { Description = "only workspaces in this state (defined, running, paused, stopped, failed)" };
    private static readonly Option<string?> Image = new("--image") { Description = "only workspaces of this image (name or id)" };
    private static readonly Option<string?> Prefix = new("--prefix") { Description = "only workspaces whose name starts with this" };

    private static readonly string[] Headers = ["NAME", "STATE", "IMAGE", "VCPUS", "MEMORY", "PID", "OWNER"];

    public static void AddFilters(Command list)
    {
        list.Options.Add(State);
        list.Options.Add(Image);
        list.Options.Add(Prefix);
    }

    public static async Task PrintAsync(WorkspacesClient client, ParseResult parse, CancellationToken ct)
    {
        var filter = new WorkspaceFilter(parse.GetValue(State), parse.GetValue(Image), parse.GetValue(Prefix));
        if (Output.Json(parse))
        {
            // One JSON array, whole: a script parses the document, not a stream.
            var all = new List<WorkspaceInfo>();
            await foreach (var page in Pages(client, filter, ct)) all.AddRange(page);
            Output.WriteJson(all.ToArray(), WorkspacesJson.Default.WorkspaceInfoArray);
            return;
        }
        using var stdout = Console.OpenStandardOutput();
        int[]? widths = null;
        await foreach (var page in Pages(client, filter, ct))
        {
            var rows = page.Select(Row).ToList();
            if (widths is null)
            {
                widths = Headers.Select(h => h.Length).ToArray();
                foreach (var row in rows)
                    for (int c = 0; c < widths.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);
                rows.Insert(0, Headers);
            }
            var text = new StringBuilder(rows.Count * (widths.Sum() + 2 * widths.Length + 1));
            foreach (var row in rows)
            {
                for (int c = 0; c < widths.Length - 1; c++) text.Append(row[c]).Append(' ', Math.Max(widths[c] - row[c].Length, 0) + 2);
                text.Append(row[^1]).Append('\n');
            }
            stdout.Write(Encoding.UTF8.GetBytes(text.ToString()));
            stdout.Flush();
        }
    }

    private static async IAsyncEnumerable<WorkspaceInfo[]> Pages(WorkspacesClient client, WorkspaceFilter filter,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? cursor = null;
        int limit = FirstPage;
        do
        {
            var page = await client.ListWorkspacesPageAsync(filter, limit, cursor, ct);
            yield return page.Items;
            (cursor, limit) = (page.NextCursor, LaterPages);
        } while (cursor is not null);
    }

    private static string[] Row(WorkspaceInfo w) =>
        new[] { w.Name, w.State, w.ImageName, w.Vcpus.ToString(), $"{w.MemoryMiB} MiB", w.Pid?.ToString() ?? "-", w.Owner.ToString() }
            .Select(Output.Printable).ToArray();
}
