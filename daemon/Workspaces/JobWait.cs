using Workspaces.Client;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Guests;
using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// ws wait NAME --job: a pre-configured job is the user-data cloud-init runs at boot; it is over when
/// cloud-init writes its result. Asked through the guest agent, once a second, until the timeout.
/// </summary>
public sealed class JobWait(GuestSupervisor supervisor, FirstBootWatch firstBoot)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(5);

    public async Task<JobResult> WaitAsync(WorkspaceRow row, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? noAgent = null;
        while (true)
        {
            if (!supervisor.TryGet(row.Id, out _))
                throw WorkspacesException.Conflict($"{row.Name} is not running, so no job runs in it (start it first)");
            try
            {
                var result = await CloudInitProbe.ResultAsync(firstBoot.Agent(row.Id), AgentTimeout, ct);
                noAgent = null;
                if (result is not null) return new JobResult(result.Done ? "done" : "error", [.. result.Errors]);
            }
            catch (Hypervisor.Qemu.GuestAgentUnavailableException e)
            {
                noAgent = e.Message;
            }
            if (DateTime.UtcNow + Interval > deadline) break;
            await Task.Delay(Interval, ct);
        }
        if (noAgent is not null)
            throw new WorkspacesException(504, "Gateway timeout",
                $"{row.Name}'s guest agent did not answer within {timeout.TotalSeconds:0.#} s ({noAgent}); the guest may run no qemu-guest-agent");
        return new JobResult("running", []);
    }
}
