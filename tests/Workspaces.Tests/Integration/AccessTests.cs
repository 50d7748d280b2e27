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

    [Fact]
    public async Task Names_are_per_owner_so_one_user_learns_nothing_of_anothers_and_both_run_side_by_side()
    {
        var user = await LocalUser.EnsureAsync("wstest");
        await using var daemon = await DaemonProcess.StartAsync(new() { ["allowUsers"] = true });
        OpenUp(daemon);
        var root = daemon.Client;
        using var asUser = new WorkspacesClient(daemon.Socket) { Owner = user.Uid }; // root, acting in the user's names
        await GuestImages.ImportAsync(root);
        await root.CreateWorkspaceAsync(new CreateWorkspaceRequest("twin", "guest", MemoryMiB: 128));
        await root.CreateWorkspaceAsync(new CreateWorkspaceRequest("secret", "guest"));

        // Taking a name another user has is no conflict: it used to answer 409 "already exists", an oracle.
        var created = await user.WsAsync(daemon.Socket, "create", "twin", "--image", "guest", "--memory", "128");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var again = await user.WsAsync(daemon.Socket, "create", "twin", "--image", "guest");
        Assert.Contains($"a workspace named 'twin' of uid {user.Uid} already exists", again.Stderr);
        // A name only root has reads exactly like a name nobody has.
        var hidden = await user.WsAsync(daemon.Socket, "show", "secret");
        var missing = await user.WsAsync(daemon.Socket, "show", "absent");
        Assert.Equal(missing.Stderr.Replace("absent", "secret"), hidden.Stderr);
        var other = await user.WsAsync(daemon.Socket, "--owner", "0", "show", "twin");
        Assert.Contains("only root and the workspaces group may act on another user's workspaces", other.Stderr);

        // Root's bare names are root's; another owner's are chosen explicitly, and a miss says where the name lives.
        Assert.Equal(0u, (await root.GetWorkspaceAsync("twin")).Owner);
        Assert.Equal(user.Uid, (await asUser.GetWorkspaceAsync("twin")).Owner);
        await root.DeleteWorkspaceAsync("secret");
        await user.WsAsync(daemon.Socket, "create", "only-theirs", "--image", "guest");
        var hint = await Assert.ThrowsAsync<ApiException>(() => root.GetWorkspaceAsync("only-theirs"));
        Assert.Equal(404, hint.Status);
        Assert.Contains($"uid {user.Uid} has one: choose with ?owner=UID", hint.Message);

        // Same name, two owners, both running: groups, QEMU names and taps are by id, so nothing collides.
        await root.ActAndWaitAsync("twin", "start");
        await asUser.ActAndWaitAsync("twin", "start");
        var (mine, theirs) = (await root.GetWorkspaceAsync("twin"), await asUser.GetWorkspaceAsync("twin"));
        Assert.Equal((WorkspaceStates.Running, WorkspaceStates.Running), (mine.State, theirs.State));
        if ((await root.GetHostAsync()).Enforcement != "none") Assert.NotEqual(mine.Unit, theirs.Unit); // groups by id (where groups are made)
        foreach (var w in new[] { mine, theirs })
            Assert.Contains($"guest={w.Id},", File.ReadAllText($"/proc/{w.Pid}/cmdline").Replace('\0', ' '));
        await root.DeleteWorkspaceAsync("twin", force: true);
        Assert.Equal(WorkspaceStates.Running, (await asUser.GetWorkspaceAsync("twin")).State); // the other twin is untouched
        await asUser.DeleteWorkspaceAsync("twin", force: true);
    }
}
