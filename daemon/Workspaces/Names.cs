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
