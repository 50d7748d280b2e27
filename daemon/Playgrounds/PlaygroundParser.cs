using System.Globalization;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Network;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Workspaces.Daemon.Playgrounds;

/// <summary>
/// Reads a playground document (YAML, or JSON, which YAML reads too) into a node tree and maps it by
/// hand: no reflection, so it holds under Native AOT, and every node keeps its line, so a refusal
/// names the line and the field. Strict: an unknown key, a wrong type or a value out of range is
/// refused, never ignored. Checks that need the host (images, other networks) are the planner's.
/// </summary>
public static class PlaygroundParser
{
    private const int MaxDocumentChars = 256 * 1024;
    private const int MaxMembers = 64;

    private static readonly string[] TopKeys = ["name", "network", "placement", "roles"];
    private static readonly string[] NetworkKeys = ["subnet", "egress"];
    private static readonly string[] PlacementKeys = ["spread", "on", "near"];
    private static readonly string[] NearValues = ["image"];
    private static readonly string[] RoleKeys = ["image", "template", "count", "vcpus", "memory", "userData", "secrets", "disks", "fingerprint"];
    private static readonly string[] DiskKeys = ["size"];

    public static PlaygroundDocument Parse(string text)
    {
        if (text.Length > MaxDocumentChars) throw WorkspacesException.BadRequest($"a playground document has at most {MaxDocumentChars} characters");
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw WorkspacesException.BadRequest($"line {e.Start.Line}: not valid YAML or JSON: {e.Message}");
        }
        if (stream.Documents.Count != 1) throw WorkspacesException.BadRequest("a playground file holds exactly one document");
        var root = Mapping(stream.Documents[0].RootNode, "(document)");
        CheckKeys(root, TopKeys, "");

        string name = Scalar(Required(root, "name", ""), "name");
        At(Required(root, "name", ""), "name", () => Names.CheckNetwork(name)); // its network carries its name, and a bridge name is short

        var networkNode = Mapping(Required(root, "network", ""), "network");
        CheckKeys(networkNode, NetworkKeys, "network.");
        var subnetNode = Required(networkNode, "subnet", "network.");
        string subnet = Scalar(subnetNode, "network.subnet");
        At(subnetNode, "network.subnet", () => Subnet.Parse(subnet));
        string? egress = null;
        if (Optional(networkNode, "egress") is { } egressNode)
        {
            egress = string.Join(' ', List(egressNode, "network.egress").Select((n, i) => Scalar(n, $"network.egress[{i}]")));
            At(egressNode, "network.egress", () => Egress.Normalize(egress));
        }

        var placement = new PlaygroundPlacement(false, []);
        if (Optional(root, "placement") is { } placementNode)
        {
            var map = Mapping(placementNode, "placement");
            CheckKeys(map, PlacementKeys, "placement.");
            bool spread = Optional(map, "spread") is { } s && Bool(s, "placement.spread");
            var on = new List<string>();
            if (Optional(map, "on") is { } onNode)
                foreach (var (peerNode, i) in List(onNode, "placement.on").Select((n, i) => (n, i)))
                {
                    string peer = Scalar(peerNode, $"placement.on[{i}]");
                    At(peerNode, $"placement.on[{i}]", () => Names.CheckPeer(peer));
                    on.Add(peer);
                }
            bool nearImage = false;
            if (Optional(map, "near") is { } nearNode)
            {
                string near = Scalar(nearNode, "placement.near");
                if (!NearValues.Contains(near))
                    throw Refuse(nearNode, "placement.near", $"unknown value {Names.Quote(near)}; known: {string.Join(", ", NearValues)}");
                nearImage = true;
            }
            placement = new PlaygroundPlacement(spread, on, Line(placementNode), nearImage);
        }

        var rolesNode = Mapping(Required(root, "roles", ""), "roles");
        if (rolesNode.Children.Count == 0) throw Refuse(rolesNode, "roles", "a playground needs at least one role");
        var roles = rolesNode.Children.Select(pair => Role(pair.Key, pair.Value, name)).ToList();
        int members = roles.Sum(r => r.Count);
        if (members > MaxMembers) throw Refuse(rolesNode, "roles", $"{members} members in all; a playground has at most {MaxMembers}");
        return new PlaygroundDocument(name, new PlaygroundNetwork(subnet, egress, Line(subnetNode)), placement, roles);
    }

    private static PlaygroundRole Role(YamlNode keyNode, YamlNode node, string playground)
    {
        string role = Scalar(keyNode, "roles");
        string at = $"roles.{role}";
        // A member is PLAYGROUND-ROLE-INDEX, a hostname: the role must keep it one.
        At(keyNode, at, () => Names.CheckWorkspace(PlaygroundDocument.MemberName(playground, role, 99)));
        var map = Mapping(node, at);
        CheckKeys(map, RoleKeys, at + ".");
        var image = Optional(map, "image");
        var template = Optional(map, "template");
        if ((image is null) == (template is null)) throw Refuse(map, at, "a role names exactly one of image and template");
        string imageName = Scalar((image ?? template)!, at + (image is null ? ".template" : ".image"));

        int count = Optional(map, "count") is { } c ? Int(c, at + ".count", 0, MaxMembers) : 1;
        int? vcpus = Optional(map, "vcpus") is { } v ? Int(v, at + ".vcpus", 1, 64) : null;
        int? memory = null;
        if (Optional(map, "memory") is { } m)
        {
            string text = Scalar(m, at + ".memory");
            // A bare number is MiB (as ws create --memory reads it); with a suffix, a size.
            long bytes = int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int mib) ? (long)mib << 20
                : At(m, at + ".memory", () => ByteSize.Parse(text, "memory"));
            if (bytes % (1L << 20) != 0 || bytes >> 20 is < 1 or > 1 << 20) throw Refuse(m, at + ".memory", $"{Names.Quote(text)} is not a whole number of MiB (1 MiB to 1 TiB)");
            memory = (int)(bytes >> 20);
        }
        string? userData = Optional(map, "userData") is { } u ? Scalar(u, at + ".userData") : null;
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Optional(map, "secrets") is { } s)
            foreach (var pair in Mapping(s, at + ".secrets").Children)
            {
                string key = Scalar(pair.Key, at + ".secrets");
                secrets[key] = Scalar(pair.Value, $"{at}.secrets.{key}");
            }
        var disks = new List<long>();
        if (Optional(map, "disks") is { } d)
            foreach (var (diskNode, i) in List(d, at + ".disks").Select((n, i) => (n, i)))
            {
                string field = $"{at}.disks[{i}]";
                var disk = Mapping(diskNode, field);
                CheckKeys(disk, DiskKeys, field + ".");
                var sizeNode = Required(disk, "size", field + ".");
                string size = Scalar(sizeNode, field + ".size");
                long bytes = At(sizeNode, field + ".size", () => ByteSize.Parse(size, "size"));
                if (bytes < 1L << 20) throw Refuse(sizeNode, field + ".size", "a data disk is at least 1M");
                disks.Add(bytes);
            }
        string? fingerprint = null;
        int fingerprintLine = 0;
        if (Optional(map, "fingerprint") is { } f)
        {
            fingerprint = Scalar(f, at + ".fingerprint");
            fingerprintLine = Line(f);
            if (fingerprint.Length != 64 || !fingerprint.All(char.IsAsciiHexDigitLower))
                throw Refuse(f, at + ".fingerprint", $"{Names.Quote(fingerprint)} is not an image fingerprint (64 lowercase hex digits, as `ws image list` shows it in full)");
        }
        return new PlaygroundRole(role, imageName, count, vcpus, memory, userData, secrets, disks, Line(keyNode), Line((image ?? template)!), fingerprint, fingerprintLine);
    }

    /// <summary>A refusal naming the line and the field: "line 7, roles.web.count: ...".</summary>
    public static WorkspacesException Refuse(int line, string field, string message) =>
        WorkspacesException.BadRequest($"line {line}, {field}: {message}");

    private static WorkspacesException Refuse(YamlNode node, string field, string message) => Refuse(Line(node), field, message);

    private static int Line(YamlNode node) => (int)node.Start.Line;

    /// <summary>Runs a check made elsewhere (names, subnets, sizes) and puts the line and field before its message.</summary>
    private static void At(YamlNode node, string field, Action check) => At(node, field, () => { check(); return 0; });

    private static T At<T>(YamlNode node, string field, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (WorkspacesException e) when (e.Status == 400)
        {
            throw Refuse(node, field, e.Message);
        }
    }

    private static void CheckKeys(YamlMappingNode map, string[] allowed, string prefix)
    {
        foreach (var key in map.Children.Keys)
        {
            string name = key is YamlScalarNode { Value: { } v } ? v : "?";
            if (!allowed.Contains(name, StringComparer.Ordinal))
                throw Refuse(key, prefix + name, $"unknown key {Names.Quote(name)}; known here: {string.Join(", ", allowed)}");
        }
    }

    private static YamlNode Required(YamlMappingNode map, string key, string prefix) =>
        Optional(map, key) ?? throw Refuse(map, prefix + key, "is required");

    private static YamlNode? Optional(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    private static YamlMappingNode Mapping(YamlNode node, string field) =>
        node as YamlMappingNode ?? throw Refuse(node, field, "must be a mapping (key: value)");

    private static IReadOnlyList<YamlNode> List(YamlNode node, string field) => node switch
    {
        YamlSequenceNode seq => seq.Children.ToList(),
        YamlScalarNode => [node], // one entry may be written without brackets
        _ => throw Refuse(node, field, "must be a list"),
    };

    private static string Scalar(YamlNode node, string field) =>
        node is YamlScalarNode { Value: { } v } ? v : throw Refuse(node, field, "must be a single value");

    private static bool Bool(YamlNode node, string field) => Scalar(node, field) switch
    {
        "true" => true,
        "false" => false,
        var other => throw Refuse(node, field, $"{Names.Quote(other)} is not true or false"),
    };

    private static int Int(YamlNode node, string field, int min, int max)
    {
        string text = Scalar(node, field);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
            throw Refuse(node, field, $"{Names.Quote(text)} is not a whole number");
        if (value < min || value > max) throw Refuse(node, field, $"{value} is out of range ({min} to {max})");
        return value;
    }
}
