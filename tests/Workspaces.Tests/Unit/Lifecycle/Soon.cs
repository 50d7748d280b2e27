using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Tests.Unit.Fakes;

namespace Workspaces.Tests.Unit.Lifecycle;

/// <summary>Bounds on waits that should end at once, so a broken lifecycle fails a test instead of hanging it.</summary>
internal static class Soon
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public static async Task<T> Within<T>(this Task<T> task, string what)
    {
        try { return await task.WaitAsync(Limit); }
        catch (TimeoutException) { throw new TimeoutException($"{what} did not finish within {Limit.TotalSeconds:0} s"); }
    }

    public static async Task Within(this Task task, string what)
    {
        try { await task.WaitAsync(Limit); }
        catch (TimeoutException) { throw new TimeoutException($"{what} did not finish within {Limit.TotalSeconds:0} s"); }
    }

    /// <summary>The workspace state events published so far on a subscription, as "Name:State".</summary>
    public static List<string> States(this System.Threading.Channels.ChannelReader<EventInfo> events)
    {
        var states = new List<string>();
        while (events.TryRead(out var e))
            if (e.Type == "workspace.state") states.Add($"{e.Workspace}:{e.State}");
        return states;
    }

    public static System.Threading.Channels.ChannelReader<EventInfo> Subscribe(this InProcessDaemon daemon) =>
        daemon.Events.Subscribe(Caller.System, CancellationToken.None);
}
