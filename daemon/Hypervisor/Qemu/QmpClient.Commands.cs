namespace Workspaces.Daemon.Hypervisor.Qemu;

// Typed QMP commands used by the driver. Names and semantics: QEMU's QMP reference.
public sealed partial class QmpClient
{
    /// <summary>query-status: the run state ("running", "paused", "prelaunch", "shutdown", ...).</summary>
    public async Task<string> QueryStatusAsync(CancellationToken ct)
    {
        var result = await ExecuteAsync("query-status", null, ct);
        return result.GetProperty("status").GetString() ?? "";
    }

    /// <summary>cont: run the vCPUs (after -S, or after stop).</summary>
    public Task ContinueAsync(CancellationToken ct) => ExecuteAsync("cont", null, ct);

    /// <summary>stop: pause the vCPUs; the guest's memory and devices stay as they are.</summary>
    public Task StopVcpusAsync(CancellationToken ct) => ExecuteAsync("stop", null, ct);

    /// <summary>system_powerdown: press the ACPI power button; the guest decides what to do.</summary>
    public Task PowerdownAsync(CancellationToken ct) => ExecuteAsync("system_powerdown", null, ct);

    /// <summary>system_reset: a hard reset, like the reset button.</summary>
    public Task ResetAsync(CancellationToken ct) => ExecuteAsync("system_reset", null, ct);

    /// <summary>balloon: ask the guest's balloon driver to leave it this many bytes.</summary>
    public Task BalloonAsync(long bytes, CancellationToken ct) =>
        ExecuteAsync("balloon", new System.Text.Json.Nodes.JsonObject { ["value"] = bytes }, ct);

    /// <summary>query-memory-size-summary: the memory the guest booted with, in bytes.</summary>
    public async Task<long> BaseMemoryAsync(CancellationToken ct) =>
        (await ExecuteAsync("query-memory-size-summary", null, ct)).GetProperty("base-memory").GetInt64();

    /// <summary>quit: QEMU exits at once (the guest gets no say).</summary>
    public async Task QuitAsync(CancellationToken ct)
    {
        try
        {
            await ExecuteAsync("quit", null, ct);
        }
        catch (QmpDisconnectedException)
        {
            // QEMU may close the socket before its reply reaches us; either way it is leaving.
        }
    }

}
