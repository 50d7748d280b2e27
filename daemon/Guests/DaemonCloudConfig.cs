using System.Text;
using System.Text.Json;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// The daemon's own cloud-config: the owner's ssh keys for root and the files the guest must get
/// (its identity, its secrets). Written as JSON, which is YAML too, so no YAML emitter is needed and
/// no value can break out of its string. merge_how makes its lists extend the user's (UserData).
/// </summary>
public static class DaemonCloudConfig
{
    public static string Build(IReadOnlyList<string> sshKeys, IReadOnlyList<GuestFile> files)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("merge_how");
            Merger(json, "list", "append");
            Merger(json, "dict", "no_replace", "recurse_list");
            Merger(json, "str");
            json.WriteEndArray();
            if (sshKeys.Count > 0)
            {
                json.WriteStartArray("ssh_authorized_keys");
                foreach (var key in sshKeys) json.WriteStringValue(key);
                json.WriteEndArray();
            }
            if (files.Count > 0)
            {
                json.WriteStartArray("write_files");
                foreach (var file in files)
                {
                    json.WriteStartObject();
                    json.WriteString("path", file.GuestPath);
                    json.WriteString("permissions", file.Mode);
                    json.WriteString("owner", "root:root");
                    json.WriteString("encoding", "b64");
                    json.WriteString("content", Convert.ToBase64String(file.Content));
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        return "#cloud-config\n" + Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void Merger(Utf8JsonWriter json, string name, params string[] settings)
    {
        json.WriteStartObject();
        json.WriteString("name", name);
        json.WriteStartArray("settings");
        foreach (var s in settings) json.WriteStringValue(s);
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
