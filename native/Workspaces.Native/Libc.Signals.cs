using System.Runtime.InteropServices;

namespace Workspaces.Native;

public static partial class Libc
{
    public const int SIGHUP = 1;

    /// <summary>
    /// Gives a signal its default disposition back. A process started under nohup inherits SIGHUP
    /// ignored, and .NET then installs no handler for a PosixSignalRegistration of it (measured: the
    /// reload never came); a daemon whose SIGHUP means "reload" resets it first.
    /// </summary>
    public static void ResetSignal(int signal)
    {
        if (Signal(signal, 0 /* SIG_DFL */) == -1 /* SIG_ERR */)
            throw NativeException.FromLastError($"signal({signal}, SIG_DFL)");
    }

    [LibraryImport(Libraries.Libc, EntryPoint = "signal", SetLastError = true)]
    private static partial nint Signal(int signal, nint handler);
}
