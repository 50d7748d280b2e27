namespace Workspaces.Cli;

/// <summary>A one-line spinner on stderr while a person waits ("⠙ Starting web1"), erased when the wait ends.</summary>
public static class Spinner
{
    private static readonly string[] Frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

    /// <summary>Only on a terminal: scripts and logs get no control sequences.</summary>
    public static bool Wanted =>
        !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "" or "dumb");

    public static async Task ShowAsync(Task wait, string message)
    {
        var stderr = Console.Error;
        for (int frame = 0; !wait.IsCompleted; frame++)
        {
            stderr.Write($"\r{Frames[frame % Frames.Length]} {message}");
            await Task.WhenAny(wait, Task.Delay(100));
        }
        stderr.Write("\r\u001b[2K"); // carriage return, erase the line
    }
}
