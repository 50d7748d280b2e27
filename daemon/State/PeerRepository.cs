using Dapper;

namespace Workspaces.Daemon.State;

/// <summary>
/// The peers aggregate: trusted peers, peers removed (so their next call is told so, not guessed at),
/// and join tokens, of which only a hash is kept.
/// </summary>
public sealed class PeerRepository(Database db)
{
    public IReadOnlyList<PeerRow> List()
    {
        using var c = db.Open();
        return c.Query<PeerRow>("SELECT name, address, tls_fingerprint, signing_key, sealing_key, added_at FROM peers ORDER BY name").AsList();
    }

    public PeerRow? Find(string name)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<PeerRow>(
            "SELECT name, address, tls_fingerprint, signing_key, sealing_key, added_at FROM peers WHERE name = @name", new { name });
    }

    public PeerRow? FindByFingerprint(string tlsFingerprint)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<PeerRow>(
            "SELECT name, address, tls_fingerprint, signing_key, sealing_key, added_at FROM peers WHERE tls_fingerprint = @tlsFingerprint",
            new { tlsFingerprint });
    }

    /// <summary>When this host removed the peer that holds this certificate, if it did.</summary>
    public long? RemovedAt(string tlsFingerprint)
    {
        using var c = db.Open();
        return c.QuerySingleOrDefault<long?>("SELECT removed_at FROM removed_peers WHERE tls_fingerprint = @tlsFingerprint", new { tlsFingerprint });
    }

    /// <summary>False when the name or the certificate is a peer already (the constraints decide races).</summary>
    public bool TryAdd(PeerRow peer)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        bool added = c.Execute("""
            INSERT INTO peers (name, address, tls_fingerprint, signing_key, sealing_key, added_at)
            VALUES (@Name, @Address, @TlsFingerprint, @SigningKey, @SealingKey, @AddedAt)
            ON CONFLICT DO NOTHING
            """, peer, tx) == 1;
        if (added) c.Execute("DELETE FROM removed_peers WHERE tls_fingerprint = @TlsFingerprint", peer, tx);
        tx.Commit();
        return added;
    }

    /// <summary>Records the keys a peer pinned by hand showed at first contact.</summary>
    public void SetKeys(string name, string signingKey, string sealingKey)
    {
        using var c = db.Open();
        c.Execute("UPDATE peers SET signing_key = @signingKey, sealing_key = @sealingKey WHERE name = @name",
            new { name, signingKey, sealingKey });
    }

    public bool Remove(string name, long now)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var fingerprint = c.QuerySingleOrDefault<string>("SELECT tls_fingerprint FROM peers WHERE name = @name", new { name }, tx);
        if (fingerprint is null) return false;
        c.Execute("DELETE FROM peers WHERE name = @name", new { name }, tx);
        c.Execute("""
            INSERT INTO removed_peers (tls_fingerprint, name, removed_at) VALUES (@fingerprint, @name, @now)
            ON CONFLICT (tls_fingerprint) DO UPDATE SET name = excluded.name, removed_at = excluded.removed_at
            """, new { fingerprint, name, now }, tx);
        tx.Commit();
        return true;
    }

    public void AddToken(string secretHash, long expiresAt)
    {
        using var c = db.Open();
        c.Execute("INSERT INTO peer_tokens (secret_hash, expires_at) VALUES (@secretHash, @expiresAt)", new { secretHash, expiresAt });
    }

    /// <summary>Whether any token could still be redeemed: only then may an unknown certificate finish a handshake.</summary>
    public bool AnyTokenOpen(long now)
    {
        using var c = db.Open();
        return c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM peer_tokens WHERE used_at IS NULL AND expires_at > @now)", new { now });
    }

    /// <summary>Marks a token used, once: what it was (unknown, used, expired) when it cannot be.</summary>
    public TokenUse UseToken(string secretHash, long now)
    {
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        var token = c.QuerySingleOrDefault<PeerTokenRow>(
            "SELECT secret_hash, expires_at, used_at FROM peer_tokens WHERE secret_hash = @secretHash", new { secretHash }, tx);
        if (token is null) return TokenUse.Unknown;
        if (token.UsedAt is not null) return TokenUse.AlreadyUsed;
        if (token.ExpiresAt <= now) return TokenUse.Expired;
        c.Execute("UPDATE peer_tokens SET used_at = @now WHERE secret_hash = @secretHash", new { secretHash, now }, tx);
        tx.Commit();
        return TokenUse.Used;
    }

    /// <summary>Puts a token back when the join it was used for failed before the peer was recorded.</summary>
    public void ReleaseToken(string secretHash)
    {
        using var c = db.Open();
        c.Execute("UPDATE peer_tokens SET used_at = NULL WHERE secret_hash = @secretHash", new { secretHash });
    }
}

public enum TokenUse { Used, Unknown, AlreadyUsed, Expired }

/// <summary>A join token as stored: the hash of its secret, never the secret.</summary>
public sealed record PeerTokenRow(string SecretHash, long ExpiresAt, long? UsedAt);
