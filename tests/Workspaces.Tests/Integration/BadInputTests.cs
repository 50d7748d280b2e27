using System.Text;
using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Every bad request gets a 4xx problem+json that says what is wrong, and leaves nothing behind.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private DaemonProcess _daemon = null!;
    private RawHttp _raw = null!;

    public async Task InitializeAsync()
    {
        _daemon = await DaemonProcess.StartAsync();
        _raw = new RawHttp(_daemon.Socket);
        await GuestImages.ImportAsync(_daemon.Client);
    }

    public async Task DisposeAsync()
    {
        _raw.Dispose();
        await _daemon.DisposeAsync();
    }

    /// <summary>What the state dir holds: a refused request must not change it.</summary>
    private string[] Footprint() =>
        Directory.EnumerateFileSystemEntries(_daemon.StateDir, "*", SearchOption.AllDirectories)
            .Where(p => !Path.GetFileName(p).StartsWith("workspaces.db", StringComparison.Ordinal))
            .Order().ToArray();

    /// <summary>A look at the state dir while the daemon may be changing it: a directory gone mid-walk is "not yet".</summary>
    private static bool Settled(Func<bool> condition)
    {
        try { return condition(); }
        catch (IOException) { return false; }
    }

    private async Task<RawHttp.Answer> ExpectProblemAsync(Func<Task<RawHttp.Answer>> send, int status, string mention)
    {
        var before = Footprint();
        var answer = await send();
        Assert.Equal(status, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains(mention, answer.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, Footprint());
        return answer;
    }

    [Theory]
    [InlineData("{\"name\": \"x\", \"image\": ", "invalid JSON")]
    [InlineData("not json at all", "invalid JSON")]
    [InlineData("{\"name\": \"x\", \"image\": \"guest\", \"cpus\": 2}", "cpus")]
    [InlineData("{\"image\": \"guest\"}", "name")]
    [InlineData("{\"name\": \"bad name!\", \"image\": \"guest\"}", "invalid workspace name")]
    [InlineData("{\"name\": \"-dash\", \"image\": \"guest\"}", "invalid workspace name")]
    [InlineData("{\"name\": \"x\", \"image\": \"no-such-image\"}", "no image named")]
    [InlineData("{\"name\": \"x\", \"image\": \"guest\", \"vcpus\": 0}", "vcpus")]
    public async Task Create_with_bad_input_is_400_or_404_and_changes_nothing(string body, string mention)
    {
        var answer = await _raw.PostJsonAsync("v1/workspaces", body);
        Assert.InRange(answer.Status, 400, 404);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.Contains(mention, answer.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(await _daemon.Client.ListWorkspacesAsync());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_daemon.StateDir, "workspaces")));
    }

    [Fact]
    public async Task A_taken_name_is_409_and_of_concurrent_creates_exactly_one_wins()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            _raw.PostJsonAsync("v1/workspaces", "{\"name\": \"same\", \"image\": \"guest\"}")));
        Assert.Single(results, r => r.Status == 201);
        Assert.All(results.Where(r => r.Status != 201), r =>
        {
            Assert.Equal(409, r.Status);
            Assert.Contains("already exists", r.Detail);
        });
        Assert.Single(await _daemon.Client.ListWorkspacesAsync());
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(_daemon.StateDir, "workspaces")));

        await ExpectProblemAsync(() => _raw.PostJsonAsync("v1/workspaces", "{\"name\": \"same\", \"image\": \"guest\"}"), 409, "already exists");
        await _daemon.Client.DeleteWorkspaceAsync("same");
    }

    [Fact]
    public async Task Illegal_transitions_are_409_with_what_is_allowed()
    {
        await _daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("idle", "guest"));
        foreach (var action in new[] { "pause", "resume", "stop", "reboot" })
        {
            var answer = await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, $"v1/workspaces/idle/{action}"), 409, "it is Defined");
            Assert.Contains("allowed from Defined: start, delete", answer.Detail);
        }
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/workspaces/idle/explode"), 404, "unknown action");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/workspaces/ghost/start"), 404, "no workspace named 'ghost'");
        await _daemon.Client.DeleteWorkspaceAsync("idle");
    }

    private static MultipartFormDataContent Upload(string name, string part, byte[] content)
    {
        var form = new MultipartFormDataContent { { new StringContent(name), "name" } };
        form.Add(new ByteArrayContent(content), part, part + ".bin");
        return form;
    }

    [Fact]
    public async Task A_file_that_is_no_image_is_refused()
    {
        var text = Encoding.UTF8.GetBytes("this is a shopping list, not a disk\n");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", Upload("notes", "disk", text)), 422, "not a whole number of 512-byte sectors");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", Upload("notes", "kernel", new byte[4096])), 422, "not a Linux bzImage");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", Upload("notes", "floppy", text)), 400, "unknown image part");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", new StringContent("disk", Encoding.UTF8, "text/plain")), 400, "multipart/form-data");
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images",
            new StringContent("""{"name":"notes","diskFd":9999}""", Encoding.UTF8, "application/json")), 400, "descriptor 9999");
        Assert.Single(await _daemon.Client.ListImagesAsync());
    }

    [Fact]
    public async Task A_qcow2_backed_by_etc_passwd_is_refused()
    {
        string evil = Path.Combine(_daemon.Dir, "evil.qcow2");
        var made = await Processes.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd", evil, "1M"]);
        Assert.Equal(0, made.ExitCode);
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", Upload("evil", "disk", File.ReadAllBytes(evil))), 422, "backing file ('/etc/passwd')");
    }

    [Fact]
    public async Task A_damaged_qcow2_is_refused()
    {
        string disk = Path.Combine(_daemon.Dir, "cut.qcow2");
        Assert.Equal(0, (await Processes.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", disk, "64M"])).ExitCode);
        var bytes = File.ReadAllBytes(disk);
        // Keep the header, cut away the refcount and L1 tables it points at.
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Post, "v1/images", Upload("cut", "disk", bytes[..1024])), 422, "qcow2");
    }

    [Fact]
    public async Task A_truncated_upload_is_refused_and_leaves_no_staging_file()
    {
        var before = Footprint();
        string boundary = "b0undary";
        var head = Encoding.ASCII.GetBytes(
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ncut\r\n" +
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"disk\"; filename=\"d.raw\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .Concat(new byte[256 * 1024]).ToArray();
        // The cut comes once the daemon is staging the disk part (a file in its state dir), so there is something to discard.
        int? status = await RawHttp.SendTruncatedAsync(_daemon.Socket, "/v1/images", $"multipart/form-data; boundary={boundary}", head, 64L << 20,
            beforeCut: () => Wait.UntilAsync(() => Settled(() => Footprint().Length > before.Length), TimeSpan.FromSeconds(30), "the daemon staging the upload's disk part"));
        // Kestrel takes the end of a body cut short for a client that has gone: no answer (above all no 201), the connection closed.
        Assert.Null(status);
        // The daemon must notice, discard the staged part and stay healthy.
        await Wait.UntilAsync(() => Settled(() => Footprint().SequenceEqual(before)), TimeSpan.FromSeconds(10), "the staged part being discarded");
        Assert.Single(await _daemon.Client.ListImagesAsync());
        Assert.DoesNotContain(await _daemon.Client.ListImagesAsync(), i => i.Name == "cut");
    }

    [Fact]
    public async Task Deleting_an_image_in_use_is_409()
    {
        await _daemon.Client.CreateWorkspaceAsync(new CreateWorkspaceRequest("user1", "guest"));
        await ExpectProblemAsync(() => _raw.SendAsync(HttpMethod.Delete, "v1/images/guest"), 409, "still needed by workspace user1");
        await _daemon.Client.DeleteWorkspaceAsync("user1");
    }
}
