namespace Workspaces.Daemon.Processes;

/// <summary>How one run of an external tool ended: its exit code and everything it wrote.</summary>
public sealed record CommandResult(string Tool, IReadOnlyList<string> Arguments, int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last non-empty line of stderr (where tools put the reason they failed), or "no message".</summary>
    public string LastErrorLine => CommandText.LastLine(Stderr);

    /// <summary>This run as a CommandException; what names the action for the message (default: the tool).</summary>
    public CommandException Failure(string? what = null) =>
        new(Tool, ExitCode, LastErrorLine, $"{what ?? Tool} failed (exit {ExitCode}): {LastErrorLine}");

    /// <summary>This result if the tool exited 0; otherwise throws Failure(what).</summary>
    public CommandResult EnsureSuccess(string? what = null) => Succeeded ? this : throw Failure(what);
}
