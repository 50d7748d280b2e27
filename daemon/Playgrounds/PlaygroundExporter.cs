using System.Globalization;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;
using Workspaces.Daemon.Images;
using Workspaces.Daemon.State;
using YamlDotNet.RepresentationModel;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// `ws playground export`: the document last applied, with each role pinned to the image its members
/// run now (after a checkin, the checked-in one) by fingerprint, the id peers offer images under for
/// pulls. Another site applies it as it is: members are made from exactly those images, pulled from its
/// peers by hash when missing. Comments of the original are not kept (the document is re-written).
/// </summary>
public sealed class PlaygroundExporter(
    PlaygroundRepository playgrounds,
    WorkspaceRepository workspaces,
    ImageService images,
    PeerDirectory peers,
    TimeProvider time,
    ILogger<PlaygroundExporter> logger)
{
    public string Export(string name)
    {
        var row = playgrounds.Find(name) ?? throw WorkspacesException.NotFound($"no playground named {Names.Quote(name)}");
        var document = PlaygroundParser.Parse(row.Document);
        var members = playgrounds.Members(name);
        var stream = new YamlStream();
        stream.Load(new StringReader(row.Document));
        var roles = (YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("roles")];
        foreach (var role in document.Roles)
        {
            var image = ImageOf(role, members.Where(m => m.Role == role.Name).ToList());
            var map = (YamlMappingNode)roles.Children[new YamlScalarNode(role.Name)];
            // The name stays a label a person reads; the fingerprint is what the members are made from.
            map.Children[new YamlScalarNode(map.Children.ContainsKey(new YamlScalarNode("image")) ? "image" : "template")] = new YamlScalarNode(image.Name);
            map.Children[new YamlScalarNode("fingerprint")] = new YamlScalarNode(image.Id);
        }
        var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        text.Write($"# playground {name}, exported by {peers.Name} at {time.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ}.\n");
        text.Write("# Each role is pinned to its members' image by fingerprint: ws playground apply makes members from exactly\n");
        text.Write("# that image, pulling it from peers by hash where it is missing.\n");
        stream.Save(text, assignAnchors: false);
        PlaygroundIdentityLog.Exported(logger, name, document.Roles.Count);
        return text.ToString();
    }

    /// <summary>The one image a role's members run; with none running, the role's own. Members of one role on different images are refused.</summary>
    private ImageRow ImageOf(PlaygroundRole role, IReadOnlyList<PlaygroundMemberRow> members)
    {
        var ids = members.Select(m => workspaces.FindById(m.WorkspaceId)?.ImageId).OfType<string>().Distinct().ToList();
        if (ids.Count > 1)
            throw WorkspacesException.Conflict($"the members of role {Names.Quote(role.Name)} run different images ({string.Join(", ", ids.Select(id => id[..12]))}): " +
                "a role is exported pinned to one image; check the others in from the same image, or put them in roles of their own");
        try
        {
            return images.Get(ids.Count == 1 ? ids[0] : role.Reference);
        }
        catch (WorkspacesException e) when (e.Status == 404)
        {
            throw WorkspacesException.Conflict($"role {Names.Quote(role.Name)}'s image is no longer on this host, so it cannot be pinned: {e.Message}");
        }
    }
}
