using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Bench;

/// <summary>Creating a workspace is an overlay on the cached image: the image's size must not matter.</summary>
public static class CreateBench
{
    public static async Task RunAsync(DaemonProcess daemon, int runs, Report report)
    {
        var client = daemon.Client;
        var sizes = new[] { ("small", 64L << 20), ("large", 4L << 30) };
        var medians = new Dictionary<string, double>();
        foreach (var (name, size) in sizes)
        {
            // A raw disk of that many bytes (written out in full, so the cache really holds it).
            string path = Path.Combine(daemon.Dir, $"{name}.raw");
            await using (var file = File.Create(path))
            {
                var chunk = new byte[1 << 20];
                Random.Shared.NextBytes(chunk);
                for (long written = 0; written < size; written += chunk.Length) await file.WriteAsync(chunk);
            }
            await client.ImportImageAsync(new ImageUpload(name, DiskPath: path));
            File.Delete(path);
        }
        // Interleaved one by one, so drift in the machine's load hits both alike.
        var samples = sizes.ToDictionary(s => s.Item1, _ => new List<double>());
        for (int i = 0; i < runs; i++)
            foreach (var (name, _) in i % 2 == 0 ? sizes : sizes.Reverse())
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await client.CreateWorkspaceAsync(new CreateWorkspaceRequest($"{name}-{i}", name));
                samples[name].Add(clock.Elapsed.TotalMilliseconds);
            }
        foreach (var (name, list) in samples)
        {
            medians[name] = Measure.Median(list);
            for (int i = 0; i < runs; i++) await client.DeleteWorkspaceAsync($"{name}-{i}");
        }
        double ratio = medians["large"] / medians["small"];
        report.Add("create from cache: 4 GiB vs 64 MiB", $"{medians["large"]:0.0} ms", $"64 MiB image {medians["small"]:0.0} ms",
            $"{ratio:0.00}x", "<= 1.2x", ratio <= 1.2);
        foreach (var (name, _) in sizes) await client.DeleteImageAsync(name);
    }
}
