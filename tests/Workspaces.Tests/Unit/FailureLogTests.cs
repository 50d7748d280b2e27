using Workspaces.Daemon.Core;
using Microsoft.Extensions.Logging;
using Workspaces.Client;
using Workspaces.Daemon;
using Workspaces.Daemon.Operations;
using Workspaces.Daemon.Workspaces;

namespace Workspaces.Tests.Unit;

/// <summary>Failures are logged whole (type, inner exceptions, stack), never swallowed.</summary>
public sealed class FailureLogTests
{
    [Fact]
    public async Task A_failed_undo_is_logged_with_its_exception_and_the_other_undos_still_run()
    {
        var log = new ListLogger<Reverter>();
        var undone = new List<int>();
        var broken = new InvalidOperationException("the tap is busy");
        await using (var revert = new Reverter(log))
        {
            revert.Add(() => undone.Add(1));
            revert.Add(() => throw broken);
            revert.Add(async () => { await Task.Yield(); undone.Add(3); });
        }
        Assert.Equal([3, 1], undone);
        var entry = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Same(broken, entry.Exception);
        Assert.Contains("step 2", entry.Message);
    }

    [Fact]
    public async Task A_failed_operation_logs_the_whole_exception_and_keeps_its_message()
    {
        var log = new ListLogger<OperationRegistry>();
        var registry = new OperationRegistry(new EventBus(), Microsoft.Extensions.Options.Options.Create(new WorkspacesOptions()), log);
        var cause = new IOException("disk went away");
        var op = registry.Start("flatten", "img", new Caller(0, true), (_, _) => throw new InvalidOperationException("flatten failed", cause));
        await op.Finished.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(OperationStatus.Failed, op.Status);
        Assert.Equal("flatten failed", op.Error);
        var entry = Assert.Single(log.Entries, e => e.Id.Id == 4000);
        Assert.Same(cause, Assert.IsType<InvalidOperationException>(entry.Exception).InnerException);
    }

    [Fact]
    public async Task A_canceled_operation_is_logged_as_canceled()
    {
        var log = new ListLogger<OperationRegistry>();
        var registry = new OperationRegistry(new EventBus(), Microsoft.Extensions.Options.Options.Create(new WorkspacesOptions()), log);
        var op = registry.Start("import", "img", new Caller(0, true), (_, ct) => Task.Delay(Timeout.Infinite, ct));
        op.Cancellation.Cancel();
        await op.Finished.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(OperationStatus.Canceled, op.Status);
        Assert.Contains(log.Entries, e => e.Id.Id == 4001);
        Assert.DoesNotContain(log.Entries, e => e.Id.Id == 4000);
    }
}
