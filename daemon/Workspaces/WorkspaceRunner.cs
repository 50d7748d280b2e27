using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Workspaces.Client;
using Workspaces.Daemon.Core;
using Workspaces.Daemon.Errors;
using Workspaces.Daemon.Hypervisor.Qemu;
using Workspaces.Daemon.Images;

namespace Workspaces.Daemon.Workspaces;

/// <summary>
/// `ws run`: create a workspace, start it, wait for its agent, run one command, stream its output,
/// and delete the workspace again (unless Keep), all here in the daemon, so that a failure at any
/// step, or the client leaving (Ctrl-C, a dropped connection: the request is aborted), still
/// deletes what was made.
/// </summary>
public sealed class WorkspaceRunner(WorkspaceDefinitions definitions, WorkspaceTransitions transitions, WorkspaceAgent agents,
    WorkspaceAccess access, ImageService images, ILogger<WorkspaceRunner> logger)
{
    /// <summary>How long a run waits for the new guest's agent unless asked otherwise (a cold boot under TCG).</summary>
    public static readonly TimeSpan DefaultAgentTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Checks the request and creates the workspace (400/404/409 here, before any frame), for RunAsync to carry on.</summary>
    public async Task<string> CreateAsync(RunRequest request, Caller caller, CancellationToken ct)
    {
        GuestProcess.Check(new ExecRequest(request.Command, request.Env, request.Cwd, request.TimeoutSeconds));
        string image = request.Image;
        if (request.From is { } from)
        {
            // A template is an image with RAM state on top of the image it was made from: the run restores it.
            var template = images.Get(from);
            if (template.State is null)
                throw WorkspacesException.BadRequest($"'{from}' is not a template (it holds no RAM state); make one with `ws snapshot NAME --as {from}`");
            var made = images.Get(request.Image);
            if (!images.Chain(template).Any(i => i.Id == made.Id))
                throw WorkspacesException.BadRequest($"template '{from}' was not made from image '{request.Image}'");
            image = template.Id;
        }
        string name = request.Name ?? $"run-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        await definitions.CreateAsync(new CreateWorkspaceRequest(name, image, request.Vcpus, request.MemoryMiB, request.Cmdline,
            Network: request.Network, UserData: request.UserData), caller, ct);
        return name;
    }

    /// <summary>Starts the workspace CreateAsync made, runs the command, and removes the workspace when the sequence ends, however it ends.</summary>
    public async IAsyncEnumerable<ExecFrame> RunAsync(string name, RunRequest request, Caller caller, [EnumeratorCancellation] CancellationToken ct)
    {
        bool removed = request.Keep;
        try
        {
            yield return new ExecFrame(Workspace: name);
            await transitions.ActAsync(name, WorkspaceAction.Start, caller, new ActionOptions(), ct);
            var row = access.Get(name, caller);
            var agentTimeout = request.AgentTimeoutSeconds is { } s && double.IsFinite(s) && s > 0 ? TimeSpan.FromSeconds(Math.Min(s, 86400)) : DefaultAgentTimeout;
            await agents.WaitAsync(row, agentTimeout, ct);
            ExecFrame? last = null;
            await using (var process = await GuestProcess.StartAsync(agents.Of(row),
                new ExecRequest(request.Command, request.Env, request.Cwd, request.TimeoutSeconds), ct))
            {
                await foreach (var frame in process.FollowAsync(ct))
                {
                    if (frame.Exit is not null || frame.TimedOut is not null) last = frame; // held back until the workspace is gone
                    else yield return frame;
                }
            }
            // Removed before the last frame goes out: a client that has the exit code finds no workspace left.
            if (!removed) await RemoveAsync(name, caller);
            removed = true;
            if (last is not null) yield return last;
        }
        finally
        {
            if (!removed) await RemoveAsync(name, caller);
        }
    }

    private async Task RemoveAsync(string name, Caller caller)
    {
        try
        {
            // Not the request's token: the client may be the reason we are here.
            using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await definitions.DeleteAsync(name, caller, force: true, patience.Token);
        }
        catch (Exception e)
        {
            WorkspaceRunnerLog.RemoveFailed(logger, name, e.Message);
        }
    }
}
