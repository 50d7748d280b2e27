using Workspaces.Daemon.Core;
using System.Diagnostics;
using Workspaces.Daemon;

namespace Workspaces.Tests.Unit;

public sealed class PollTests
{
    [Fact]
    public async Task Returns_true_once_the_condition_holds()
    {
        int checks = 0;
        Assert.True(await Poll.WaitUntilAsync(() => ++checks == 3, TimeSpan.FromSeconds(30)));
        Assert.Equal(3, checks);
    }

    [Fact]
    public async Task A_condition_that_already_holds_is_not_waited_for()
    {
        var clock = Stopwatch.StartNew();
        Assert.True(await Poll.WaitUntilAsync(() => true, TimeSpan.Zero));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Returns_false_after_the_timeout_having_checked_at_the_end()
    {
        var timeout = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        TimeSpan lastCheck = default;
        Assert.False(await Poll.WaitUntilAsync(() => { lastCheck = clock.Elapsed; return false; }, timeout));
        Assert.True(clock.Elapsed >= timeout);
        Assert.True(lastCheck >= timeout, $"last check at {lastCheck.TotalMilliseconds} ms, before the timeout");
    }

    [Fact]
    public async Task Waits_without_end_until_cancelled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Poll.WaitUntilAsync(() => false, Timeout.InfiniteTimeSpan, cts.Token));
    }

    [Fact]
    public async Task Sees_a_change_made_by_someone_else()
    {
        string file = Path.Combine(Path.GetTempPath(), $"poll-{Guid.NewGuid():N}");
        var wait = Poll.WaitUntilAsync(() => File.Exists(file), TimeSpan.FromSeconds(30));
        Assert.False(wait.IsCompleted);
        await File.WriteAllTextAsync(file, "here");
        Assert.True(await wait);
        File.Delete(file);
    }
}
