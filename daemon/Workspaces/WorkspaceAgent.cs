using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// A workspace's guest agent, for a caller: the same access rule as every workspace action (its
/// owner, or an admin), and only while it runs. Also what `ws show` says about the agent, each
/// question bounded so that show never hangs on a guest without one.
/// </summary>
public sealed class WorkspaceAgent(WorkspaceAccess access, WorkspaceLayout layout, GuestAgents agents)
{
    /// <summary>How long show waits for each answer (ping, OS, interfaces).</summary>
    public static readonly TimeSpan ShowTimeout = TimeSpan.FromSeconds(1.5);

    /// <summary>The running workspace NAME's row and agent; a 409 when it does not run.</summary>
    public (WorkspaceRow Row, GuestAgent Agent) For(string name, Caller caller, string doing)
    {
        var row = access.Get(name, caller);
        if (row.State != WorkspaceStates.Running)
            throw WorkspacesException.Conflict($"cannot {doing} workspace {Names.Quote(name)}: it is {row.State}; its guest agent answers only while it runs",
                WorkspaceStateMachine.AllowedFrom(row.State));
        return (row, Of(row));
    }

    public GuestAgent Of(WorkspaceRow row) => agents.For(layout.AgentSocket(row.Id));

    /// <summary>Forgets the workspace's agent connection (its QEMU is gone or going).</summary>
    public Task ForgetAsync(WorkspaceRow row) => agents.ForgetAsync(layout.AgentSocket(row.Id));

    /// <summary>Pings until the agent answers, or throws GuestAgentUnavailableException once timeout has passed.</summary>
    public async Task WaitAsync(WorkspaceRow row, TimeSpan timeout, CancellationToken ct)
    {
        var agent = Of(row);
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                await agent.PingAsync(TimeSpan.FromSeconds(2), ct);
                return;
            }
            catch (GuestAgentUnavailableException) when (DateTime.UtcNow < until)
            {
                // Not up yet (the guest is booting): the ping itself waited, so ask again at once; a
                // missing socket fails at once, so pause a little then.
                if (!File.Exists(layout.AgentSocket(row.Id))) await Task.Delay(200, ct);
            }
            catch (GuestAgentUnavailableException e)
            {
                throw new GuestAgentUnavailableException($"no guest agent answered in workspace {Names.Quote(row.Name)} within {timeout.TotalSeconds:0.#} s: {e.Message}", e);
            }
        }
    }

    /// <summary>Whether the agent answers, and if so the guest's OS and addresses; never throws for the guest's sake.</summary>
    public async Task<GuestAgentInfo> DescribeAsync(WorkspaceRow row, CancellationToken ct)
    {
        var agent = Of(row);
        try
        {
            await agent.PingAsync(ShowTimeout, ct);
        }
        catch (GuestAgentUnavailableException e)
        {
            return new GuestAgentInfo(false, e.Message);
        }
        GuestOsView? os = null;
        GuestInterfaceView[]? interfaces = null;
        string? error = null;
        try
        {
            var o = await agent.OsInfoAsync(ct, ShowTimeout);
            os = new GuestOsView(o.Id, o.Name, o.PrettyName, o.Version, o.KernelRelease, o.Machine);
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException) { error = e.Message; }
        try
        {
            interfaces = [.. (await agent.NetworkInterfacesAsync(ct, ShowTimeout)).Select(i =>
                new GuestInterfaceView(i.Name, i.Mac, [.. i.Addresses.Select(a => $"{a.Address}/{a.Prefix}")]))];
        }
        catch (Exception e) when (e is GuestAgentUnavailableException or GuestAgentException) { error ??= e.Message; }
        return new GuestAgentInfo(true, error, os, interfaces);
    }
}
