using Workspaces.Daemon.Errors;

namespace Workspaces.Daemon.Guests;

/// <summary>ssh public keys for root's authorized_keys (ws create --ssh-key FILE): one key a line, bounded, nothing that is not a key line.</summary>
public static class SshKeys
{
    public const int MaxKeys = 32;
    public const int MaxLineLength = 16 << 10;
    private static readonly string[] Types = ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"];

    /// <summary>The key lines of every file given (blank lines and comments dropped); a 400 for anything else.</summary>
    public static IReadOnlyList<string> Parse(IReadOnlyList<string>? files)
    {
        var keys = new List<string>();
        foreach (var file in files ?? [])
            foreach (var raw in (file ?? "").Split('\n'))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                if (line.Length > MaxLineLength) throw WorkspacesException.BadRequest($"an ssh key line is longer than {MaxLineLength >> 10} KiB");
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2 || !Types.Any(t => parts[0].StartsWith(t, StringComparison.Ordinal)) || !IsBase64(parts[1]) || line.Any(char.IsControl))
                    throw WorkspacesException.BadRequest(
                        $"'{(line.Length > 40 ? line[..40] + "…" : line)}' is not an ssh public key line (TYPE BASE64 [COMMENT], as in id_ed25519.pub)");
                keys.Add(line);
            }
        if (keys.Count > MaxKeys) throw WorkspacesException.BadRequest($"a workspace takes at most {MaxKeys} ssh keys, not {keys.Count}");
        return keys;
    }

    private static bool IsBase64(string text)
    {
        return text.Length > 0 && text.Length % 4 == 0 && System.Buffers.Text.Base64.IsValid(text);
    }
}
