using System.Text;
using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Guests;

/// <summary>
/// The user-data a workspace's owner gives (ws create --user-data FILE), checked before it is kept,
/// and composed with the daemon's own cloud-config (ssh keys, identity, secrets) into the one
/// user-data the seed carries.
///
/// Composition is a MIME multipart, cloud-init's own way to combine documents, not a YAML rewrite:
/// the user's document reaches the guest byte for byte (comments, anchors, a shell script instead of
/// a cloud-config: all kept), and no YAML library has to agree with PyYAML about it. The daemon's
/// part comes second and carries merge_how list(append)+dict(recurse_list,no_replace), so its
/// ssh_authorized_keys and write_files are appended to the user's lists instead of replacing them,
/// and none of the user's own keys are overwritten.
/// </summary>
public static class UserData
{
    /// <summary>The most user-data a workspace may carry (the seed is a small ISO; cloud-init reads it whole).</summary>
    public const int MaxBytes = 64 << 10;

    /// <summary>The MIME type cloud-init gives a part, by the first line of the document; a 400 for what it would not run.</summary>
    public static string ContentType(string userData)
    {
        if (Encoding.UTF8.GetByteCount(userData) > MaxBytes)
            throw WorkspacesException.BadRequest($"user-data is larger than {MaxBytes >> 10} KiB");
        if (userData.Contains('\0')) throw WorkspacesException.BadRequest("user-data is text: it may not contain NUL bytes");
        string first = userData.Split('\n', 2)[0].TrimEnd('\r');
        if (first.StartsWith("#cloud-config", StringComparison.Ordinal))
        {
            CheckCloudConfig(userData);
            return "text/cloud-config";
        }
        if (first.StartsWith("#!", StringComparison.Ordinal)) return "text/x-shellscript";
        if (first.StartsWith("#cloud-boothook", StringComparison.Ordinal)) return "text/cloud-boothook";
        throw WorkspacesException.BadRequest(
            "user-data must begin with '#cloud-config' (a cloud-config YAML document) or '#!' (a script run once at first boot); "
            + $"it begins with '{(first.Length > 40 ? first[..40] + "…" : first)}'");
    }

    /// <summary>
    /// What can be checked of a YAML document without a YAML parser and that cloud-init would
    /// otherwise ignore silently: YAML forbids tabs for indentation, and a cloud-config's top level is
    /// a mapping (its first content line is a "key:" or a flow mapping).
    /// </summary>
    private static void CheckCloudConfig(string userData)
    {
        var lines = userData.Split('\n');
        for (int i = 1; i < lines.Length; i++)
            if (lines[i].StartsWith('\t') || lines[i].TrimStart(' ').StartsWith('\t') && lines[i].Trim().Length > 0)
                throw WorkspacesException.BadRequest($"user-data line {i + 1}: YAML does not allow tabs for indentation");
        var content = lines.Skip(1).Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#'));
        if (content is null) return; // an empty cloud-config is valid
        if (content == "---") return;
        if (content.StartsWith('{')) return;
        if (content.StartsWith(' ') || !content.Contains(':'))
            throw WorkspacesException.BadRequest($"user-data: a cloud-config is a YAML mapping (key: value lines); its first line is '{content}'");
    }

    /// <summary>
    /// The user-data on the seed: the daemon's cloud-config alone, or the user's document followed by
    /// it in a multipart/mixed message. The boundary is random, so no user document can contain it.
    /// </summary>
    public static string Compose(string? user, string daemonCloudConfig)
    {
        if (string.IsNullOrEmpty(user)) return daemonCloudConfig;
        string boundary = "==workspaces-" + Guid.NewGuid().ToString("N") + "==";
        var mime = new StringBuilder();
        mime.Append("Content-Type: multipart/mixed; boundary=\"").Append(boundary).Append("\"\nMIME-Version: 1.0\n\n");
        Part(mime, boundary, ContentType(user), "user-data", user);
        Part(mime, boundary, "text/cloud-config", "workspaces.cfg", daemonCloudConfig);
        mime.Append("--").Append(boundary).Append("--\n");
        return mime.ToString();
    }

    private static void Part(StringBuilder mime, string boundary, string type, string fileName, string body)
    {
        mime.Append("--").Append(boundary).Append('\n')
            .Append("Content-Type: ").Append(type).Append("; charset=\"utf-8\"\n")
            .Append("MIME-Version: 1.0\n")
            .Append("Content-Transfer-Encoding: 8bit\n")
            .Append("Content-Disposition: attachment; filename=\"").Append(fileName).Append("\"\n\n")
            .Append(body);
        if (!body.EndsWith('\n')) mime.Append('\n');
    }
}
