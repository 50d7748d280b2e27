using System.Globalization;
using System.Text.RegularExpressions;

namespace Workspaces.Bench;

/// <summary>The daemon's start traces (StartTrace, logged at debug as "Started NAME in T ms: step T ms, ..."), summed up by step.</summary>
public static partial class StartTraces
{
    /// <summary>The median of each step over the last runs' traces of the workspaces named so, as "step ms, ...".</summary>
    public static string StepMedians(string log, Func<string, bool> workspace, int runs)
    {
        var traces = log.Split('\n').Select(l => Trace().Match(l)).Where(m => m.Success && workspace(m.Groups["name"].Value))
            .TakeLast(runs).Select(m => m.Groups["steps"].Value).ToList();
        var byStep = new Dictionary<string, List<double>>();
        foreach (var trace in traces)
            foreach (var part in trace.Split(", "))
            {
                int at = part.LastIndexOf(' ', part.Length - 4); // "qemu launch 55.1 ms"
                string step = part[..at];
                double ms = double.Parse(part[(at + 1)..^3], CultureInfo.InvariantCulture);
                (byStep.TryGetValue(step, out var list) ? list : byStep[step] = []).Add(ms);
            }
        return string.Join(", ", byStep.Select(s => $"{s.Key} {Measure.Median(s.Value):0.0}"));
    }

    [GeneratedRegex(@"Started (?<name>\S+) in [0-9.]+ ms: (?<steps>.*?)\s*$")]
    private static partial Regex Trace();
}
