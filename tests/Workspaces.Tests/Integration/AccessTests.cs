using Workspaces.Client;
using Workspaces.Testing;

namespace Workspaces.Tests.Integration;

/// <summary>Who may use the socket: root and the group manage all; others are refused unless users are admitted, then see only their own.</summary>
public sealed class AccessTests
{
    private static void OpenUp(DaemonProcess daemon) =>
        File.SetUnixFileMode(daemon.Dir, (UnixFileMode)Convert.ToInt32("755", 8)); // the socket's directory; the socket's own mode decides

    [Fact]
    public async Task An_ordinary_user_is_refused_by_default()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync();
        OpenUp(daemon);

        // The socket is 0660: the kernel refuses the connection itself.
        Assert.Equal("660", Convert.ToString((int)File.GetUnixFileMode(daemon.Socket), 8));
        var denied = await user.WsAsync(daemon.Socket, "list");
        Assert.Equal(1, denied.ExitCode);
        Assert.Contains("permission denied", denied.Stderr);
        Assert.Single(denied.Stderr.Trim().Split('\n')); // one line, no stack trace
    }

    [Fact]
    public async Task A_user_who_reaches_the_socket_is_refused_403_unless_users_are_admitted()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["socketMode"] = "0666" });
        OpenUp(daemon);
        var denied = await user.WsAsync(daemon.Socket, "list");
        Assert.Equal(1, denied.ExitCode);
        Assert.Contains("permission denied: only root and members of the workspaces group", denied.Stderr);
    }

    [Fact]
    public async Task Admitted_users_see_and_control_only_their_own_workspaces()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true });
        OpenUp(daemon);
        var root = daemon.Client;
        await GuestImages.ImportAsync(root);
        await root.CreateWorkspaceAsync(new CreateWorkspaceRequest("roots", "guest"));

        var created = await user.WsAsync(daemon.Socket, "create", "guest", "mine");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var listed = await user.WsAsync(daemon.Socket, "list", "--json");
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains("\"name\":\"mine\"", listed.Stdout);
        Assert.DoesNotContain("roots", listed.Stdout);

        foreach (var args in new[] { new[] { "show", "roots" }, ["rm", "roots"], ["start", "roots"] })
        {
            var refused = await user.WsAsync(daemon.Socket, args);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("no workspace named 'roots'", refused.Stderr);
        }
        var import = await user.WsAsync(daemon.Socket, "image", "rm", "guest");
        Assert.Equal(1, import.ExitCode);
        Assert.Contains("only root and the workspaces group may delete images", import.Stderr);

        // Root sees both, with their owners; the user removes its own.
        var all = await root.ListWorkspacesAsync();
        Assert.Equal([("mine", user.Uid), ("roots", 0u)], all.Select(w => (w.Name, w.Owner)).ToArray());
        Assert.Equal(0, (await user.WsAsync(daemon.Socket, "rm", "mine")).ExitCode);
        Assert.Equal(["roots"], (await root.ListWorkspacesAsync()).Select(w => w.Name).ToArray());
    }
}
