using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Federation;

namespace Workspaces.Tests.Unit;

/// <summary>The pure parts of placement and of the peer proxy: the ranking's order, and which paths may cross.</summary>
public sealed class PlacementPartsTests
{
    private static PeerAdmissionAnswer Admits(bool accepts, int freeMemory = 4096, int capacityMemory = 8192) =>
        new(accepts, new WorkspaceShape(1, 256), accepts ? null : "policy says no", null, 4, freeMemory, 8, capacityMemory);

    [Fact]
    public void Admission_comes_before_proximity_proximity_before_room_and_the_unreachable_last()
    {
        const long chain = 1000;
        var ranked = PlacementRanking.Rank(
        [
            new("gone", false, null, 0, "no answer within 2 s", 2000),
            new("roomy", false, Admits(true, freeMemory: 8192), 0, null, 1),
            new("full-holder", false, Admits(false), chain, null, 1),
            new("half", false, Admits(true, freeMemory: 100), 500, null, 1),
            new("holder", false, Admits(true, freeMemory: 100), chain, null, 1),
            new("here", true, Admits(true, freeMemory: 8192), 0, null, 0),
        ], chain);
        Assert.Equal(["holder", "half", "here", "roomy", "full-holder", "gone"], ranked.Select(c => c.Host));
        Assert.Equal([1, 2, 3, 4, 5, 6], ranked.Select(c => c.Rank));
        Assert.Equal("holds 100% of the chain", ranked[0].Reason);
        Assert.Equal("holds 50% of the chain (500 B to fetch)", ranked[1].Reason);
        Assert.Equal("admission refuses: policy says no; holds 100% of the chain", ranked[4].Reason);
        Assert.Equal(("unreachable: no answer within 2 s", null, false), (ranked[5].Reason, ranked[5].Score, ranked[5].Reachable));
        // Missing one byte is never "100%".
        Assert.StartsWith("holds 99% of the chain", PlacementRanking.Rank([new("x", false, Admits(true), chain - 1, null, 0)], chain)[0].Reason);
    }

    [Fact]
    public void Scores_weigh_admission_then_chain_share_then_memory_share()
    {
        Assert.Equal(1000 + 900 + 49, PlacementRanking.Score(Admits(true, 4096, 8192), 10, 10));
        Assert.Equal(0 + 450 + 0, PlacementRanking.Score(Admits(false, 0, 8192), 5, 10));
        Assert.True(PlacementRanking.Score(Admits(true, 0), 0, 10) > PlacementRanking.Score(Admits(false, 8192, 8192), 10, 10));
    }

    [Theory]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces", "/v1/workspaces", "")]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/web1/console?follow=true", "/v1/workspaces/web1/console", "follow=true")]
    [InlineData("/v1/peers/h2/proxy/v1/images/guest%2Dv2", "/v1/images/guest-v2", "")]
    [InlineData("/v1/peers/h2/proxy/v1/events", "/v1/events", "")]
    public void Allowed_paths_pass_normalised(string raw, string path, string query) =>
        Assert.Equal((path, query), PeerProxyPath.Check(raw, "/v1/peers/h2/proxy/"));

    [Theory]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/../../peers", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/%2e%2e/x", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/%2E./x", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/./x", 400)]
    [InlineData("/v1/peers/h2/proxy/v1//workspaces", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/a%2fb", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/a%5cb", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/a\\b", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/%252e%252e", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/%0a", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/workspaces/%zz", 400)]
    [InlineData("/v1/peers/h2/proxy/v1/peers", 403)]
    [InlineData("/v1/peers/h2/proxy/v1/peer/proxy/v1/host", 403)]
    [InlineData("/v1/peers/h2/proxy/v1/trust", 403)]
    [InlineData("/v1/peers/h2/proxy/v1/workspacesX", 403)]
    [InlineData("/v1/peers/h2/proxy/v2/workspaces", 403)]
    public void Paths_that_are_not_what_they_seem_are_refused(string raw, int status) =>
        Assert.Equal(status, Assert.Throws<WorkspacesException>(() => PeerProxyPath.Check(raw, "/v1/peers/h2/proxy/")).Status);

    [Fact]
    public void An_import_by_descriptor_cannot_cross_hosts()
    {
        Assert.Equal(400, Assert.Throws<WorkspacesException>(() => PeerProxyPath.CheckBody("POST", "/v1/images", "application/json; charset=utf-8")).Status);
        PeerProxyPath.CheckBody("POST", "/v1/images", "multipart/form-data; boundary=x");
        PeerProxyPath.CheckBody("POST", "/v1/workspaces", "application/json");
    }
}
