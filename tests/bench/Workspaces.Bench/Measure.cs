using System.Diagnostics;

namespace Workspaces.Bench;

/// <summary>Timing helpers: medians of repeated runs, since the machines are shared and noisy.</summary>
public static class Measure
{
    public static async Task<double> MedianMsAsync(int runs, Func<int, Task> run, Func<int, Task>? between = null)
    {
        var samples = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            await run(i);
            samples.Add(clock.Elapsed.TotalMilliseconds);
            if (between is not null) await between(i);
        }
        return Median(samples);
    }

    /// <summary>
    /// Runs the commands in turn, round after round, and returns each one's median: a load that comes and goes
    /// on a shared machine falls on all of them alike. One warm-up round first (page cache, lazy binding).
    /// </summary>
    public static async Task<double[]> InterleavedMediansAsync(int rounds, params Func<Task>[] commands)
    {
        foreach (var command in commands) await command();
        var samples = commands.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int c = 0; c < commands.Length; c++)
            {
                var clock = Stopwatch.StartNew();
                await commands[c]();
                samples[c].Add(clock.Elapsed.TotalMilliseconds);
            }
        return samples.Select(Median).ToArray();
    }

    public static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, command)));

    public static double Median(List<double> samples)
    {
        samples.Sort();
        return samples.Count % 2 == 1 ? samples[samples.Count / 2] : (samples[samples.Count / 2 - 1] + samples[samples.Count / 2]) / 2;
    }

    public static Task<(int Code, string Out, string Err)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        return RunAsync(start);
    }

    public static async Task<(int Code, string Out, string Err)> RunAsync(ProcessStartInfo start)
    {
        string file = start.FileName;
        var args = start.ArgumentList;
        using var p = Process.Start(start)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await p.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} hung for 2 minutes");
        }
        return (p.ExitCode, await o, await e);
    }

    public static async Task MustAsync(string file, params string[] args)
    {
        var (code, _, err) = await RunAsync(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {err.Trim()}");
    }

    public static async Task MustAsync(ProcessStartInfo start)
    {
        var (code, _, err) = await RunAsync(start);
        if (code != 0) throw new InvalidOperationException($"{start.FileName} {string.Join(' ', start.ArgumentList)} failed ({code}): {err.Trim()}");
    }

    public static long RssKiB(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
}
