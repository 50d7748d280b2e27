namespace Workspaces.Tests.Support;

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

    /// <summary>The daemon and the CLI are built next to the tests (project references).</summary>
    public static string Daemon => Path.Combine(AppContext.BaseDirectory, "workspacesd.dll");
    public static string Cli => Path.Combine(AppContext.BaseDirectory, "ws.dll");
}
