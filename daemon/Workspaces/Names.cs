using System.Text.RegularExpressions;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Workspaces;

/// <summary>What a name may look like. Workspace names are hostnames (they become unit and machine names).</summary>
public static partial class Names
{
    [GeneratedRegex("^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")]
    private static partial Regex WorkspaceName();

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$")]
    private static partial Regex ImageName();

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$")]
    private static partial Regex NetworkName();

    /// <summary>Network names become bridge names (wsbr-NAME), and a Linux interface name has at most 15 characters.</summary>
    public static void CheckNetwork(string name)
    {
        if (!NetworkName().IsMatch(name))
            throw WorkspacesException.BadRequest($"invalid network name '{name}': use 1-10 lowercase letters, digits and inner hyphens");
    }

    public static void CheckWorkspace(string name)
    {
        if (!WorkspaceName().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"invalid workspace name '{name}': use 1-63 letters, digits and inner hyphens (a hostname)");
    }

    public static void CheckImage(string name)
    {
        if (!ImageName().IsMatch(name))
            throw WorkspacesException.BadRequest(
                $"invalid image name '{name}': use up to 128 letters, digits, '.', '_' and '-', starting with a letter or digit");
    }
}
