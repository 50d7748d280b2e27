namespace Workspaces.Bench;

/// <summary>The table the benchmark prints: each row a measurement, its baseline, the ratio and the target.</summary>
public sealed class Report
{
    private readonly List<string[]> _rows = [];

    public void Add(string name, string ours, string baseline, string ratio, string target, bool? met)
    {
        _rows.Add([name, ours, baseline, ratio, target, met switch { true => "met", false => "MISSED", null => "" }]);
        Console.Error.WriteLine($"  {string.Join(" | ", _rows[^1].Where(c => c.Length > 0))}"); // as it comes, in case a later step fails
    }

    public void Print()
    {
        string[] head = ["benchmark", "workspaces", "baseline", "ratio / delta", "target", ""];
        var all = new[] { head }.Concat(_rows).ToList();
        var widths = Enumerable.Range(0, head.Length).Select(c => all.Max(r => r[c].Length)).ToArray();
        foreach (var (row, i) in all.Select((r, i) => (r, i)))
        {
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            if (i == 0) Console.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
    }
}
