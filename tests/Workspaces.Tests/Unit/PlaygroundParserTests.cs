using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Playgrounds;

namespace Workspaces.Tests.Unit;

/// <summary>The playground document: what it reads, and every refusal naming its line and field.</summary>
public sealed class PlaygroundParserTests
{
    private const string Good = """
        name: lab
        network:
          subnet: 10.77.0.0/24
          egress: [10.9.0.0/24:443]
        placement:
          spread: true
          on: [east, west]
        roles:
          web:
            image: guest
            count: 2
            vcpus: 1
            memory: 192
            userData: |
              #cloud-config
            secrets: {token: s3cret}
            disks: [{size: 1G}, {size: 512M}]
          db:
            template: dbtpl
        """;

    [Fact]
    public void A_full_document_is_read_field_by_field()
    {
        var doc = PlaygroundParser.Parse(Good);
        Assert.Equal("lab", doc.Name);
        Assert.Equal(("10.77.0.0/24", "10.9.0.0/24:443", 3), (doc.Network.Subnet, doc.Network.Egress, doc.Network.SubnetLine));
        Assert.True(doc.Placement.Spread);
        Assert.Equal(["east", "west"], doc.Placement.On);
        var web = doc.Roles[0];
        Assert.Equal(("web", "guest", 2, 1, 192, 9), (web.Name, web.Image, web.Count, web.Vcpus, web.MemoryMiB, web.Line));
        Assert.Equal("#cloud-config\n", web.UserData);
        Assert.Equal("s3cret", web.Secrets["token"]);
        Assert.Equal([1L << 30, 512L << 20], web.DiskBytes);
        var db = doc.Roles[1];
        Assert.Equal(("db", "dbtpl", 1, null, null), (db.Name, db.Image, db.Count, db.Vcpus, db.MemoryMiB));
        Assert.Equal(["lab-web-1", "lab-web-2", "lab-db-1"], doc.Members().Select(m => m.Name));
    }

    [Fact]
    public void Json_is_read_too()
    {
        var doc = PlaygroundParser.Parse("""{"name": "j", "network": {"subnet": "10.78.0.0/24"}, "roles": {"n": {"image": "guest", "count": 3, "memory": "256M"}}}""");
        Assert.Equal(("j", 3, 256), (doc.Name, doc.Roles.Single().Count, doc.Roles.Single().MemoryMiB));
    }

    [Fact]
    public void Near_image_is_a_placement_hint_that_places_on_peers_and_no_hint_keeps_members_here()
    {
        var near = PlaygroundParser.Parse("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\nplacement:\n  near: image\n").Placement;
        Assert.True(near.NearImage);
        Assert.False(near.Spread);
        Assert.True(near.OnPeers);
        var none = PlaygroundParser.Parse("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\n").Placement;
        Assert.False(none.NearImage);
        Assert.False(none.OnPeers);
        Assert.False(PlaygroundParser.Parse(Good).Placement.NearImage);
    }

    [Theory]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\n  colour: red\nroles:\n  n: {image: guest}\n", "line 4, network.colour: unknown key 'colour'")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n:\n    image: guest\n    count: -1\n", "line 7, roles.n.count: -1 is out of range (0 to 64)")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.1/24\nroles:\n  n: {image: guest}\n", "line 3, network.subnet: '10.77.0.1/24' is not an IPv4 subnet")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest, template: t}\n", "line 5, roles.n: a role names exactly one of image and template")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n:\n    image: guest\n    disks: [{size: 10Q}]\n", "line 7, roles.n.disks[0].size: invalid size '10Q'")]
    [InlineData("name: Lab_1\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\n", "line 1, name: invalid network name 'Lab_1'")]
    [InlineData("name: lab\nroles:\n  n: {image: guest}\n", "line 1, network: is required")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\nplacement:\n  spread: maybe\n", "line 7, placement.spread: 'maybe' is not true or false")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\nplacement:\n  near: disk\n", "line 7, placement.near: unknown value 'disk'; known: image")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest}\nplacement:\n  near: [image]\n", "line 7, placement.near: must be a single value")]
    [InlineData("name: lab\nnetwork:\n  subnet: 10.77.0.0/24\nroles:\n  n: {image: guest, memory: 1.5G}\n", "line 5, roles.n.memory: invalid memory '1.5G'")]
    [InlineData("name: lab\nnetwork: {subnet: 10.77.0.0/24}\nroles:\n  n: {image: guest\n", "line 5: not valid YAML or JSON")]
    [InlineData("name: lab\nname: lab2\n", "line 2: not valid YAML or JSON")]
    public void A_bad_document_is_refused_naming_the_line_and_the_field(string text, string expected)
    {
        var e = Assert.Throws<WorkspacesException>(() => PlaygroundParser.Parse(text));
        Assert.Equal(400, e.Status);
        Assert.StartsWith(expected, e.Message);
    }
}
