using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Workspaces.Client;

namespace Workspaces.Cli;

/// <summary>Tables for people, JSON for scripts.</summary>
public static class Output
{
    public static bool Json(ParseResult parse) => parse.GetValue(Cli.JsonOption);

    public static void WriteJson<T>(T value, JsonTypeInfo<T> type) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(value, type));

    /// <summary>
    /// A plain table, as `docker ps` or `virsh list` print one: upper-case headers, columns padded to their
    /// widest cell, two spaces apart, written in one piece. Control characters in a cell are shown as '?'
    /// (names come from the daemon; none may move the cursor or colour the terminal).
    /// </summary>
    public static void Table(string[] headers, IEnumerable<string[]> rows)
    {
        var cells = new List<string[]> { headers.Select(h => h.ToUpperInvariant()).ToArray() };
        cells.AddRange(rows.Select(row => row.Select(Printable).ToArray()));
        var widths = new int[headers.Length];
        foreach (var row in cells)
            for (int c = 0; c < widths.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);
        var text = new StringBuilder(cells.Count * (widths.Sum() + 2 * widths.Length + 1));
        foreach (var row in cells)
        {
            for (int c = 0; c < widths.Length - 1; c++) text.Append(row[c]).Append(' ', widths[c] - row[c].Length + 2);
            text.Append(row[^1]).Append('\n');
        }
        using var stdout = Console.OpenStandardOutput();
        stdout.Write(Encoding.UTF8.GetBytes(text.ToString()));
    }

    public static string Printable(string cell) =>
        cell.Any(char.IsControl) ? string.Concat(cell.Select(ch => char.IsControl(ch) ? '?' : ch)) : cell;

    /// <summary>Key/value pairs, one a line, for `show`.</summary>
    public static void Fields(params (string Key, object? Value)[] fields)
    {
        int width = fields.Max(f => f.Key.Length) + 1;
        foreach (var (key, value) in fields)
            if (value is not null) Console.Out.WriteLine($"{(key + ":").PadRight(width)} {value}");
    }

    public static string Short(string? id) => id is null ? "-" : id[..Math.Min(12, id.Length)];

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    public static string Age(DateTimeOffset t) => (DateTimeOffset.UtcNow - t) switch
    {
        var d when d.TotalMinutes < 1 => $"{(int)d.TotalSeconds}s ago",
        var d when d.TotalHours < 1 => $"{(int)d.TotalMinutes}m ago",
        var d when d.TotalDays < 1 => $"{(int)d.TotalHours}h ago",
        var d => $"{(int)d.TotalDays}d ago",
    };

    /// <summary>Waits for an operation with a spinner when a person is watching; fails with the operation's error.</summary>
    public static async Task<OperationInfo> WaitAsync(WorkspacesClient client, OperationInfo op, string message, CancellationToken ct)
    {
        var wait = client.WaitOperationAsync(op.Id, ct: ct);
        if (Spinner.Wanted) await Spinner.ShowAsync(wait, message);
        return WorkspacesClient.EnsureDone(await wait);
    }
}
