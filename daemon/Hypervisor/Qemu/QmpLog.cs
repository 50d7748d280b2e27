using System.Text;
using System.Text.Json.Nodes;

namespace Workspaces.Daemon.Hypervisor.Qemu;

/// <summary>
/// A workspace's QMP conversation, as Incus keeps one: every command, reply and event with the time,
/// in qmp.log in its directory, so a failure can be read after the fact. Secrets never reach it
/// (a secret object's data is replaced). Kept to 1 MiB: the older half rolls to qmp.log.1.
/// </summary>
public sealed class QmpLog(string path)
{
    private const long MaxBytes = 1 << 20;
    private readonly Lock _gate = new();

    public void Sent(JsonObject message)
    {
        if (message["execute"]?.GetValue<string>() == "object-add" && message["arguments"] is JsonObject { } args
            && args["qom-type"]?.GetValue<string>() == "secret")
        {
            message = (JsonObject)message.DeepClone();
            message["arguments"]!["data"] = "(secret, not logged)";
        }
        Write("->", message.ToJsonString());
    }

    public void Received(string line) => Write("<-", line);

    public void Note(string text) => Write("--", text);

    private void Write(string direction, string text)
    {
        lock (_gate)
        {
            try
            {
                var file = new FileInfo(path);
                if (file.Exists && file.Length > MaxBytes) File.Move(path, path + ".1", overwrite: true);
                File.AppendAllText(path, $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {direction} {text}\n", Encoding.UTF8);
            }
            catch (IOException)
            {
                // The log is for reading after the fact; a full disk or a removed directory must not fail the guest's commands.
            }
        }
    }
}
