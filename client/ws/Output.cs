using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;
using Workspaces.Client;

namespace Workspaces.Cli;

/// <summary>Tables for people, JSON for scripts.</summary>
public static class Output
{
    public static bool Json(ParseResult parse) => parse.GetValue(Cli.JsonOption);

    public static void WriteJson<T>(T value, JsonTypeInfo<T> type) =>
        Console.Out.WriteLine(JsonSerializer.Serialize(value, type));

    public static void Table(string[] headers, IEnumerable<string[]> rows)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var h in headers) table.AddColumn(new TableColumn(h.ToUpperInvariant()));
        foreach (var row in rows) table.AddRow(row.Select(c => new Text(c)).ToArray<Spectre.Console.Rendering.IRenderable>());
        AnsiConsole.Write(table);
    }

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
        if (!Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive)
            op = await AnsiConsole.Status().StartAsync(message, _ => client.WaitOperationAsync(op.Id, ct: ct));
        else
            op = await client.WaitOperationAsync(op.Id, ct: ct);
        return WorkspacesClient.EnsureDone(op);
    }
}
