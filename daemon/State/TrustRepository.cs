using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>The trusted_signers table: named Ed25519 keys whose signatures the site accepts.</summary>
public sealed class TrustRepository(Database db)
{
    public IReadOnlyList<TrustedSignerRow> List()
    {
        using var c = db.Open();
        return c.Query<TrustedSignerRow>("SELECT name, public_key, added_at FROM trusted_signers ORDER BY name").AsList();
    }

    /// <summary>False when the name or the key is already there (the constraints decide races).</summary>
    public bool TryAdd(TrustedSignerRow signer)
    {
        using var c = db.Open();
        return c.Execute("""
            INSERT INTO trusted_signers (name, public_key, added_at) VALUES (@Name, @PublicKey, @AddedAt)
            ON CONFLICT DO NOTHING
            """, signer) == 1;
    }

    public bool Remove(string name)
    {
        using var c = db.Open();
        return c.Execute("DELETE FROM trusted_signers WHERE name = @name", new { name }) == 1;
    }
}
