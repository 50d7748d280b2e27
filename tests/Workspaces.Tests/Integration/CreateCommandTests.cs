using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>
/// ws create takes launch's shape, IMAGE NAME (as incus init|launch IMAGE NAME); the old
/// NAME --image IMAGE still works and says on stderr that it is deprecated.
/// </summary>
public sealed class CreateCommandTests : IAsyncLifetime
{
    private DaemonProcess _daemon = null!;

    public async Task InitializeAsync()
    {
        _daemon = await DaemonProcess.StartAsync();
        await GuestImages.ImportAsync(_daemon.Client, "other"); // a name no workspace has: swapped arguments are a 404
    }

    public async Task DisposeAsync() => await _daemon.DisposeAsync();

    private Task<Processes.Result> WsAsync(params string[] args)
    {
        var (file, prefix) = Repo.Cli;
        return Processes.RunAsync(file, [.. prefix, "--socket", _daemon.Socket, .. args], TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Create_takes_the_image_then_the_name()
    {
        var made = await WsAsync("create", "other", "web1", "--memory", "128");
        Assert.True(made.ExitCode == 0, made.Stderr);
        Assert.Equal("", made.Stderr);
        Assert.Equal("Created web1 (Defined)", made.Stdout.Trim());
        var w = await _daemon.Client.GetWorkspaceAsync("web1");
        Assert.Equal(("other", 128), (w.ImageName, w.MemoryMiB));
    }

    [Fact]
    public async Task The_old_form_still_creates_and_says_it_is_deprecated()
    {
        var made = await WsAsync("create", "web2", "--image", "other");
        Assert.True(made.ExitCode == 0, made.Stderr);
        Assert.Contains("deprecated", made.Stderr);
        Assert.Contains("ws create other web2", made.Stderr);
        Assert.Equal("Created web2 (Defined)", made.Stdout.Trim());
        Assert.Equal("other", (await _daemon.Client.GetWorkspaceAsync("web2")).ImageName);
    }

    [Theory]
    [InlineData(new[] { "create", "other" }, "ws create IMAGE NAME")]
    [InlineData(new[] { "create", "other", "web3", "--image", "other" }, "give the image once")]
    public async Task A_create_short_of_a_name_or_with_two_images_is_refused_before_the_daemon_is_asked(string[] args, string message)
    {
        var refused = await WsAsync(args);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains(message, refused.Stderr);
        Assert.Empty(await _daemon.Client.ListWorkspacesAsync());
    }
}
