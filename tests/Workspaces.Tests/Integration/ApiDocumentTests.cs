using System.Net.Sockets;
using System.Text.Json;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// GET /v1/openapi.json describes exactly the routes the daemon has: every route in its endpoint data
/// source (`workspacesd --routes`) is in the document, every documented route is one, and each
/// documented route, asked of the running daemon, is answered by its endpoint rather than the fallback.
/// </summary>
public sealed class ApiDocumentTests : IAsyncLifetime
{
    private DaemonProcess _daemon = null!;

    public async Task InitializeAsync() => _daemon = await DaemonProcess.StartAsync();

    public async Task DisposeAsync() => await _daemon.DisposeAsync();

    private HttpClient Http() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(_daemon.Socket), ct);
            return new NetworkStream(s, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://workspaces/"), Timeout = TimeSpan.FromSeconds(30) };

    private async Task<JsonElement> DocumentAsync()
    {
        using var http = Http();
        using var response = await http.GetAsync("v1/openapi.json");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static SortedSet<string> Documented(JsonElement document) =>
        new(document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(op => op.Name is "get" or "put" or "post" or "delete" or "patch" or "head" or "options" or "trace")
                .Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}")), StringComparer.Ordinal);

    /// <summary>The daemon's own route table: the same binary, its endpoint data source printed.</summary>
    private async Task<SortedSet<string>> MappedAsync()
    {
        var (file, prefix) = Repo.Daemon;
        var run = await Processes.RunAsync(file, [.. prefix, "--routes", "--config", _daemon.ConfigPath, "--state-dir", _daemon.StateDir, "--socket", _daemon.Socket],
            TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, $"workspacesd --routes exited {run.ExitCode}: {run.Stderr}");
        return new(run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.Split(' ')[1].StartsWith("/v1/", StringComparison.Ordinal))
            // A catch-all ({**path}) is a plain {path} in OpenAPI, which has no syntax for it.
            .Select(line => System.Text.RegularExpressions.Regex.Replace(line, @"\{\*\*?", "{")), StringComparer.Ordinal);
    }

    [Fact]
    public async Task The_document_lists_every_route_the_daemon_maps_and_no_other()
    {
        var document = await DocumentAsync();
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var documented = Documented(document);
        var mapped = await MappedAsync();
        Assert.True(mapped.Count > 30, $"workspacesd --routes listed only {mapped.Count} routes:\n{string.Join('\n', mapped)}");

        var undocumented = mapped.Except(documented).ToList();
        var phantom = documented.Except(mapped).ToList();
        Assert.True(undocumented.Count == 0 && phantom.Count == 0,
            $"routes the daemon maps but the document lacks: [{string.Join(", ", undocumented)}]; " +
            $"documented routes the daemon does not map: [{string.Join(", ", phantom)}]");
        // The document describes itself.
        Assert.Contains("GET /v1/openapi.json", documented);
    }

    [Fact]
    public async Task Every_documented_route_is_answered_by_its_endpoint_not_the_fallback()
    {
        var documented = Documented(await DocumentAsync());
        using var http = Http();
        var fellThrough = new List<string>();
        foreach (var route in documented)
        {
            var (method, template) = (route.Split(' ')[0], route.Split(' ')[1]);
            // Path parameters get names nothing has: no probe can act on anything (the daemon is empty anyway).
            string path = System.Text.RegularExpressions.Regex.Replace(template, "{[^}]+}", "openapi-probe");
            using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
            // Headers only: GET /v1/events streams until the client leaves.
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            int status = (int)response.StatusCode;
            string detail = "";
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
                detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString() ?? "";
            if (status == 405 || detail.StartsWith("no endpoint answers", StringComparison.Ordinal))
                fellThrough.Add($"{route} ({status}: {detail})");
        }
        Assert.True(fellThrough.Count == 0, $"documented routes the running daemon does not answer:\n{string.Join('\n', fellThrough)}");

        // And the probe can tell: a route nobody mapped does fall through.
        using var missing = await http.GetAsync("v1/no-such-route");
        Assert.Equal(404, (int)missing.StatusCode);
        Assert.StartsWith("no endpoint answers", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
    }
}
