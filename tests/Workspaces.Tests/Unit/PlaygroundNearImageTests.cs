using Workspaces.Client;
using Workspaces.Daemon.Playgrounds;

namespace Workspaces.Tests.Unit;

/// <summary>Which host a playground member goes to among those that take it: near its image, spread, or the best rank.</summary>
public sealed class PlaygroundNearImageTests
{
    private const long Chain = 1000;

    // Ranked as placement ranks them: "here" first (most room), "east" holds all of the image, "west" a quarter.
    private static readonly PlacementCandidate[] Fit =
    [
        Candidate(1, "here", held: 500),
        Candidate(2, "east", held: Chain),
        Candidate(3, "west", held: 250),
    ];

    private static PlacementCandidate Candidate(int rank, string host, long held) =>
        new(rank, host, host == "here", Reachable: true, Admits: true, Score: 1000 - rank, HeldBytes: held, ChainBytes: Chain,
            FreeVcpus: 4, FreeMemoryMiB: 4096, Reason: "admits");

    [Fact]
    public void Without_hints_the_best_rank_is_taken()
    {
        Assert.Equal("here", PlaygroundHosts.Choose(Fit, spread: false, nearImage: false, new Dictionary<string, int>()).Host);
    }

    [Fact]
    public void Near_image_takes_the_host_holding_most_of_the_image_over_a_better_rank()
    {
        Assert.Equal("east", PlaygroundHosts.Choose(Fit, spread: false, nearImage: true, new Dictionary<string, int>()).Host);
    }

    [Fact]
    public void Spread_alone_takes_the_host_with_fewest_members_and_near_image_spreads_only_among_the_nearest()
    {
        var count = new Dictionary<string, int> { ["here"] = 1, ["east"] = 1 };
        Assert.Equal("west", PlaygroundHosts.Choose(Fit, spread: true, nearImage: false, count).Host);
        Assert.Equal("east", PlaygroundHosts.Choose(Fit, spread: true, nearImage: true, count).Host);
        // Two hosts holding it all: near image spreads between them.
        PlacementCandidate[] twoWhole = [Candidate(1, "here", held: Chain), Candidate(2, "east", held: Chain), Candidate(3, "west", held: 0)];
        Assert.Equal("east", PlaygroundHosts.Choose(twoWhole, spread: true, nearImage: true, new Dictionary<string, int> { ["here"] = 1 }).Host);
        Assert.Equal("here", PlaygroundHosts.Choose(twoWhole, spread: true, nearImage: true, new Dictionary<string, int> { ["east"] = 1 }).Host);
    }
}
