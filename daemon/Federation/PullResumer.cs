using Workspaces.Daemon.State;

namespace Workspaces.Daemon.Federation;

/// <summary>At daemon start, runs again every pull that was recorded and not finished: each resumes from its pieces on disk.</summary>
public sealed class PullResumer(ImagePull pull, PullRepository pulls, ILogger<PullResumer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        if (pulls.List().Count is > 0 and var count)
        {
            PullLog.ResumingAtStart(logger, count);
            pull.ResumeRecorded();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
