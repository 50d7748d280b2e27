using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

// guest-exec and guest-exec-status (qemu-ga's reference, QEMU 7.2).
public sealed partial class GuestAgent
{
    /// <summary>
    /// guest-exec: starts PATH with ARGS in the guest and returns its pid at once. Env, when given,
    /// replaces the agent's environment; with captureOutput the agent keeps stdout and stderr and
    /// hands them over in guest-exec-status once the process has ended (not before).
    /// </summary>
    public async Task<long> ExecStartAsync(string path, IReadOnlyList<string> args, IReadOnlyList<string>? env, bool captureOutput,
        CancellationToken ct, TimeSpan? timeout = null)
    {
        var arguments = new JsonObject
        {
            ["path"] = path,
            ["arg"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]),
            ["capture-output"] = captureOutput,
        };
        if (env is not null) arguments["env"] = new JsonArray([.. env.Select(e => JsonValue.Create(e))]);
        var result = await ExecuteAsync("guest-exec", arguments, timeout ?? DefaultTimeout, ct);
        return result.GetProperty("pid").GetInt64();
    }

    /// <summary>guest-exec-status: whether the process has ended, how, and (captured) what it wrote.</summary>
    public async Task<GuestExecStatus> ExecStatusAsync(long pid, CancellationToken ct, TimeSpan? timeout = null)
    {
        var r = await ExecuteAsync("guest-exec-status", new JsonObject { ["pid"] = pid }, timeout ?? DefaultTimeout, ct);
        return new GuestExecStatus(
            Exited: r.GetProperty("exited").GetBoolean(),
            ExitCode: r.TryGetProperty("exitcode", out var code) ? code.GetInt32() : null,
            Signal: r.TryGetProperty("signal", out var signal) ? signal.GetInt32() : null,
            Stdout: Bytes(r, "out-data"),
            Stderr: Bytes(r, "err-data"),
            Truncated: Flag(r, "out-truncated") || Flag(r, "err-truncated"));
    }

    private static byte[] Bytes(JsonElement r, string name) =>
        r.TryGetProperty(name, out var data) && data.GetString() is { } b64 ? Convert.FromBase64String(b64) : [];

    private static bool Flag(JsonElement r, string name) => r.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.True;
}
