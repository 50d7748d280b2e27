namespace Workspaces.Daemon;

/// <summary>
/// Named moments inside multi-step actions where a test can make the daemon die as a crash would
/// (SIGKILL: no clean-up runs). Set WORKSPACES_CRASH_AT=NAME in the daemon's environment; unset,
/// Reach costs one comparison.
/// </summary>
public static class CrashPoints
{
    private static readonly string? Armed = Environment.GetEnvironmentVariable("WORKSPACES_CRASH_AT");

    public static void Reach(string name)
    {
        if (Armed == name) global::Workspaces.Native.Libc.SendSignal(Environment.ProcessId, 9);
    }
}
