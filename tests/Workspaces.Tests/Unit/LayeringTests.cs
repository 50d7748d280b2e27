using System.Text.RegularExpressions;
using Workspaces.Testing;

namespace Workspaces.Tests.Unit;

/// <summary>
/// Dependencies in the daemon point down only. Each folder of daemon/ is a namespace with a layer;
/// every reference to another namespace (a using, or a qualified name) in its sources must name a
/// lower layer. Types in the root namespace (options, Program, the hosted services) are outside the
/// check: options are read by every layer, and the services are the top.
/// </summary>
public sealed partial class LayeringTests
{
    private static readonly Dictionary<string, int> Layers = new()
    {
        ["Errors"] = 0, ["State"] = 0,
        ["Core"] = 1, ["Processes"] = 1,                // names, callers, undo, events, disk chains, polling; running tools
        ["Hypervisor"] = 2, ["Systemd"] = 2, ["Trust"] = 2, ["Network"] = 2, ["Operations"] = 2,
        ["Images"] = 3, ["Resources"] = 3, ["Guests"] = 3, // seeds, identity documents, cloud-init's result
        ["Audit"] = 3,                                  // the signed log: it signs with Trust, copies to the journal (Systemd); Workspaces, Federation and Api record
        ["Workspaces"] = 4,                             // the lifecycle
        ["Federation"] = 5,                             // peers, pulls, placement
        ["Playgrounds"] = 6,                            // clusters of workspaces declared by a document (may place with Federation)
        ["Api"] = 7,
    };

    [GeneratedRegex(@"\bWorkspaces\.Daemon\.([A-Z][A-Za-z]+)")]
    private static partial Regex Reference();

    [Fact]
    public void Every_folder_of_the_daemon_has_a_layer_and_references_only_lower_ones()
    {
        string daemon = Path.Combine(Repo.Root, "daemon");
        var folders = Directory.EnumerateDirectories(daemon).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToList();
        Assert.Equal(Layers.Keys.Order(), folders.Order()!); // a new folder needs its place here

        var upward = new List<string>();
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(daemon, folder!), "*.cs", SearchOption.AllDirectories))
                foreach (Match m in Reference().Matches(File.ReadAllText(file)))
                {
                    string target = m.Groups[1].Value;
                    if (target == folder || !Layers.TryGetValue(target, out int to)) continue; // not a folder: a root-namespace type
                    if (to >= Layers[folder!])
                        upward.Add($"{Path.GetRelativePath(daemon, file)} -> {target}");
                }
        Assert.True(upward.Count == 0, "references that do not point down:\n" + string.Join("\n", upward.Distinct()));
    }
}
