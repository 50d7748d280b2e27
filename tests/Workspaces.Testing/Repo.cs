namespace Workspaces.Testing;

/// <summary>Paths in the checkout, found from the test assembly's location.</summary>
public static class Repo
{
    public static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Workspaces.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("tests must run from inside the Workspaces checkout");
    }

    /// <summary>
    /// The daemon and CLI under test: the published Native AOT binaries when tests/run.sh names them
    /// (WORKSPACES_DAEMON, WORKSPACES_CLI: what ships is what is tested), else the builds next to the tests.
    /// </summary>
    public static (string File, string[] Args) Daemon =>
        Environment.GetEnvironmentVariable("WORKSPACES_DAEMON") is { Length: > 0 } native
            ? (native, [])
            : ("dotnet", [Path.Combine(AppContext.BaseDirectory, "workspacesd.dll")]);

    /// <summary>ws as tests run it: the Native AOT binary when WORKSPACES_CLI names it, else the build next to the tests.</summary>
    public static (string File, string[] Args) Cli =>
        NativeCli is { } native ? (native, []) : ("dotnet", [Path.Combine(AppContext.BaseDirectory, "ws.dll")]);

    public static string? NativeCli => Environment.GetEnvironmentVariable("WORKSPACES_CLI") is { Length: > 0 } cli ? cli : null;
}
