using Dapper;
using Microsoft.Data.Sqlite;

namespace Workspaces.Daemon.State;

/// <summary>
/// Append-only, numbered schema changes; PRAGMA user_version records how many have run.
/// Never edit or reorder a shipped step: add a new one.
/// </summary>
public static class SchemaMigrations
{
    private static readonly string[] Steps =
    [
        // 1: images and workspaces.
        """
        CREATE TABLE images (
            id                TEXT PRIMARY KEY,          -- sha256 fingerprint of the image's parts
            name              TEXT NOT NULL UNIQUE,
            kind              TEXT NOT NULL,             -- disk | bootset
            disk              TEXT,                      -- sha256 of the disk blob
            disk_format       TEXT,                      -- qcow2 | raw
            disk_virtual_size INTEGER,
            kernel            TEXT,
            initrd            TEXT,
            cmdline           TEXT,
            size              INTEGER NOT NULL,
            created_at        INTEGER NOT NULL
        );
        CREATE TABLE workspaces (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            owner       INTEGER NOT NULL,
            image_id    TEXT NOT NULL REFERENCES images(id),
            vcpus       INTEGER NOT NULL,
            memory_mib  INTEGER NOT NULL,
            cmdline     TEXT,
            state       TEXT NOT NULL,
            reason      TEXT,
            pid         INTEGER,
            accelerator TEXT,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        CREATE INDEX workspaces_owner ON workspaces(owner);
        """,
        // 2: resource controls negotiated with the host (null: the host's default).
        """
        ALTER TABLE workspaces ADD COLUMN cpu_quota_percent INTEGER;
        ALTER TABLE workspaces ADD COLUMN cpu_weight INTEGER;
        ALTER TABLE workspaces ADD COLUMN tasks_max INTEGER;
        ALTER TABLE workspaces ADD COLUMN io_weight INTEGER;
        """,
        // 3: the Factory with trust: provenance, signatures, sealed keys, blob identities, trusted signers.
        """
        ALTER TABLE images ADD COLUMN parent TEXT REFERENCES images(id);   -- a delta's base image
        ALTER TABLE images ADD COLUMN tags TEXT NOT NULL DEFAULT '';       -- space-separated, sorted
        ALTER TABLE images ADD COLUMN origin_workspace TEXT;               -- checked in from this workspace
        ALTER TABLE images ADD COLUMN origin_host TEXT;                    -- on this host (name)
        ALTER TABLE images ADD COLUMN origin_host_key TEXT;                -- with this signing key
        ALTER TABLE images ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX images_parent ON images(parent);
        CREATE TABLE image_signatures (
            image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            signer    TEXT NOT NULL,                 -- ed25519:BASE64
            signature TEXT NOT NULL,                 -- base64 Ed25519 over the canonical manifest
            signed_at INTEGER NOT NULL,
            PRIMARY KEY (image_id, signer)
        );
        CREATE TABLE image_keys (
            image_id  TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            recipient TEXT NOT NULL,                 -- x25519:BASE64 the disk key is sealed to
            sealed    TEXT NOT NULL,                 -- base64 of KeySeal output
            PRIMARY KEY (image_id, recipient)
        );
        CREATE TABLE blob_checks (                   -- a blob's file identity when its hash last matched
            sha256      TEXT PRIMARY KEY,
            device      INTEGER NOT NULL,
            inode       INTEGER NOT NULL,
            size        INTEGER NOT NULL,
            modified_ns INTEGER NOT NULL,
            changed_ns  INTEGER NOT NULL,
            checked_at  INTEGER NOT NULL
        );
        CREATE TABLE trusted_signers (
            name       TEXT PRIMARY KEY,
            public_key TEXT NOT NULL UNIQUE,         -- ed25519:BASE64
            added_at   INTEGER NOT NULL
        );
        """,
        // 4: networks, the workspaces' NICs on them, and port forwards from the host.
        """
        CREATE TABLE networks (
            name           TEXT PRIMARY KEY,
            bridge         TEXT NOT NULL UNIQUE,
            subnet         TEXT NOT NULL,             -- CIDR, e.g. 10.87.0.0/24
            gateway        TEXT NOT NULL,             -- the bridge's address
            nat            INTEGER NOT NULL,          -- masquerade traffic leaving the host
            isolated       INTEGER NOT NULL,          -- no traffic beyond the bridge at all
            isolate_owners INTEGER NOT NULL,          -- workspaces of different owners cannot talk
            egress         TEXT NOT NULL,             -- default egress allowlist ('' = anything)
            created_at     INTEGER NOT NULL
        );
        CREATE TABLE nics (
            workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            network      TEXT NOT NULL REFERENCES networks(name),
            mac          TEXT NOT NULL UNIQUE,
            address      TEXT NOT NULL,
            tap          TEXT NOT NULL UNIQUE,
            egress       TEXT,                      -- this workspace's allowlist (null: the network's)
            rate_kbit    INTEGER,                   -- egress rate limit (null: none)
            UNIQUE (network, address)
        );
        CREATE TABLE port_forwards (
            workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            protocol     TEXT NOT NULL,
            host_port    INTEGER NOT NULL,
            guest_port   INTEGER NOT NULL,
            PRIMARY KEY (protocol, host_port)
        );
        """,
        // 5: checkins in progress, so a crash at any step is rolled back or forward at start.
        """
        CREATE TABLE checkins (
            workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            image_id     TEXT NOT NULL,             -- the image being made (not yet a row until step 'registered')
            disk         TEXT NOT NULL,             -- sha256 of its disk blob
            adopted      INTEGER NOT NULL,          -- the blob is the workspace's overlay itself (a second name of it)
            step         TEXT NOT NULL,             -- recorded | registered
            started_at   INTEGER NOT NULL
        );
        """,
        // 6: each workspace's QEMU runs as a uid (and gid) of its own; existing workspaces get one now.
        """
        ALTER TABLE workspaces ADD COLUMN guest_uid INTEGER;
        UPDATE workspaces SET guest_uid = 1900000000 + rowid;
        CREATE UNIQUE INDEX workspaces_guest_uid ON workspaces(guest_uid);
        """,
        // 7: workspace names are per owner (one user's names say nothing about another's). SQLite cannot
        // drop a constraint, so the table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter).
        """
        CREATE TABLE workspaces_new (
            id                TEXT PRIMARY KEY,
            name              TEXT NOT NULL,
            owner             INTEGER NOT NULL,
            image_id          TEXT NOT NULL REFERENCES images(id),
            vcpus             INTEGER NOT NULL,
            memory_mib        INTEGER NOT NULL,
            cmdline           TEXT,
            state             TEXT NOT NULL,
            reason            TEXT,
            pid               INTEGER,
            accelerator       TEXT,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL,
            cpu_quota_percent INTEGER,
            cpu_weight        INTEGER,
            tasks_max         INTEGER,
            io_weight         INTEGER,
            guest_uid         INTEGER,
            UNIQUE (owner, name)
        );
        INSERT INTO workspaces_new (id, name, owner, image_id, vcpus, memory_mib, cmdline, state, reason, pid, accelerator,
                                    created_at, updated_at, cpu_quota_percent, cpu_weight, tasks_max, io_weight, guest_uid)
            SELECT id, name, owner, image_id, vcpus, memory_mib, cmdline, state, reason, pid, accelerator,
                   created_at, updated_at, cpu_quota_percent, cpu_weight, tasks_max, io_weight, guest_uid FROM workspaces;
        DROP TABLE workspaces;
        ALTER TABLE workspaces_new RENAME TO workspaces;
        CREATE INDEX workspaces_owner ON workspaces(owner);
        CREATE UNIQUE INDEX workspaces_guest_uid ON workspaces(guest_uid);
        """,
        // 8: settings of this daemon's own (one row per key). guest_uid_base: the first of the million guest uids this
        // database hands out (WorkspaceRepository). Every daemon used to start at 1900000000, so two on one host gave
        // different guests the same uid; a database with workspaces keeps that base (its rows hold uids from it), a
        // new one draws a slot in 1..1999 (base 1901000000..3899000000, below 2^32-1). random() % 1999 before abs:
        // abs() of the smallest 64-bit integer would overflow.
        """
        CREATE TABLE host_settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        INSERT INTO host_settings (key, value)
            SELECT 'guest_uid_base', CASE WHEN EXISTS (SELECT 1 FROM workspaces) THEN '1900000000'
                                          ELSE CAST(1900000000 + (abs(random() % 1999) + 1) * 1000000 AS TEXT) END;
        """,
        // 9: peers (hosts recognised by a pinned TLS certificate), peers removed, join tokens (hashes only).
        """
        CREATE TABLE peers (
            name            TEXT PRIMARY KEY,
            address         TEXT NOT NULL,              -- host:port of its peer listener
            tls_fingerprint TEXT NOT NULL UNIQUE,       -- SHA256:hex of its certificate's DER
            signing_key     TEXT,                       -- ed25519:..., null until first contact when pinned by hand
            sealing_key     TEXT,                       -- x25519:...
            added_at        INTEGER NOT NULL
        );
        CREATE TABLE removed_peers (
            tls_fingerprint TEXT PRIMARY KEY,
            name            TEXT NOT NULL,
            removed_at      INTEGER NOT NULL
        );
        CREATE TABLE peer_tokens (
            secret_hash TEXT PRIMARY KEY,               -- SHA-256 of the token's secret; the secret itself is never stored
            expires_at  INTEGER NOT NULL,
            used_at     INTEGER
        );
        """,
        // 10: piece lists of blobs, computed once for peers.
        """
        CREATE TABLE blob_pieces (                   -- SHA-256 of each piece of a blob, as peers check what they fetch
            sha256     TEXT PRIMARY KEY,             -- the blob
            piece_size INTEGER NOT NULL,             -- bytes per piece (the last one is short)
            size       INTEGER NOT NULL,             -- the blob's size
            hashes     BLOB NOT NULL                 -- the pieces' 32-byte digests, concatenated in order
        );
        """,
        // 11: pulls in progress, resumed at start.
        """
        CREATE TABLE image_pulls (                   -- a pull from peers until its image is registered or refused
            image      TEXT PRIMARY KEY,             -- as the admin named it: a name or a fingerprint
            from_peer  TEXT,                         -- only this peer; null: every peer that holds it
            owner      INTEGER NOT NULL,             -- who asked (the operation's owner when it resumes)
            started_at INTEGER NOT NULL
        );
        """,
        // 12: addresses leased at start, not at create. A NIC's MAC stays its identity from create, but its address
        // belongs to a running guest: null while the workspace is defined, stopped or failed (UNIQUE ignores NULLs), so a
        // /24 holds 253 running workspaces, not 253 defined. NOT NULL cannot be dropped in place: the table is rebuilt.
        // Workspaces not running or paused give their address back now. Listing reads by state, image and name
        // (keyset pages ordered by name, owner) get indexes.
        """
        CREATE TABLE nics_new (
            workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            network      TEXT NOT NULL REFERENCES networks(name),
            mac          TEXT NOT NULL UNIQUE,
            address      TEXT,                      -- leased while it runs (null: not running)
            tap          TEXT NOT NULL UNIQUE,
            egress       TEXT,                      -- this workspace's allowlist (null: the network's)
            rate_kbit    INTEGER,                   -- egress rate limit (null: none)
            UNIQUE (network, address)
        );
        INSERT INTO nics_new (workspace_id, network, mac, address, tap, egress, rate_kbit)
            SELECT n.workspace_id, n.network, n.mac,
                   CASE WHEN w.state IN ('Running', 'Paused') THEN n.address END,
                   n.tap, n.egress, n.rate_kbit
            FROM nics n JOIN workspaces w ON w.id = n.workspace_id;
        DROP TABLE nics;
        ALTER TABLE nics_new RENAME TO nics;
        CREATE INDEX nics_network ON nics(network);
        CREATE INDEX workspaces_name_owner ON workspaces(name, owner);
        CREATE INDEX workspaces_state_name ON workspaces(state, name, owner);
        CREATE INDEX workspaces_image_name ON workspaces(image_id, name, owner);
        """,
        // Data disks: extra qcow2 files in a workspace's directory, blank or an overlay of an image's disk,
        // plugged in this order (position picks the hot-plug root port). An image a data disk overlays is
        // in use like a workspace's own (no ON DELETE: the image delete refuses).
        """
        CREATE TABLE data_disks (
            workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            name         TEXT NOT NULL,
            kind         TEXT NOT NULL,             -- 'blank' or 'image'
            size         INTEGER NOT NULL,          -- virtual size, bytes
            image_id     TEXT REFERENCES images(id), -- kind 'image': the image it overlays
            serial       TEXT NOT NULL,             -- what the guest reads in /sys/block/*/serial
            position     INTEGER NOT NULL,          -- 0..: its root port, and the order at start
            sealed       INTEGER NOT NULL,          -- LUKS with the workspace's lineage key
            created_at   INTEGER NOT NULL,
            PRIMARY KEY (workspace_id, name),
            UNIQUE (workspace_id, position)
        );
        CREATE INDEX data_disks_image ON data_disks(image_id);
        """,
        // Saved RAM and device state. A workspace stopped with --stateful is 'Saved' and has one saved
        // state beside its overlay, covered by its hash here (checked before a restore). A template
        // image carries a RAM state blob (a part of its manifest) and the shape it was saved with.
        """
        CREATE TABLE saved_states (
            workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            sha256       TEXT NOT NULL,
            size         INTEGER NOT NULL,
            format       TEXT NOT NULL,             -- what the file holds, e.g. qemu-migration+zstd/1
            address      TEXT,                      -- the address the guest had: leased again at restore when free
            memory_mib   INTEGER NOT NULL,          -- the shape QEMU ran with (a restore must give it the same)
            vcpus        INTEGER NOT NULL,
            saved_at     INTEGER NOT NULL
        );
        ALTER TABLE images ADD COLUMN state TEXT;              -- a template's RAM state blob (sha256)
        ALTER TABLE images ADD COLUMN state_format TEXT;
        ALTER TABLE images ADD COLUMN state_memory_mib INTEGER;
        ALTER TABLE images ADD COLUMN state_vcpus INTEGER;
        """,
        // What a workspace's guest is given at first boot: the owner's user-data and ssh keys, its identity (an Ed25519
        // key pair, the private half sealed to the host's X25519 key, hex; the signed document), its secrets (sealed, hex),
        // and when the guest was confirmed to have them (then the seed no longer carries the one-time files).
        """
        CREATE TABLE workspace_guests (
            workspace_id  TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            user_data     TEXT,                     -- as the owner gave it (null: none)
            ssh_keys      TEXT NOT NULL DEFAULT '', -- authorized_keys lines for root, newline-separated
            public_key    TEXT NOT NULL,            -- ed25519:BASE64, the workspace's own
            sealed_key    TEXT NOT NULL,            -- hex of KeySeal(PEM private key) to this host's sealing key
            identity      TEXT NOT NULL,            -- the identity document, signed by the host key
            delivered_at  INTEGER                   -- the guest confirmed its first boot: one-time files left the seed
        );
        CREATE TABLE workspace_secrets (
            workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
            name          TEXT NOT NULL,
            sealed        TEXT NOT NULL,            -- hex of KeySeal(value) to this host's sealing key; never in clear
            PRIMARY KEY (workspace_id, name)
        );
        """,
        // #14: workspaces in quarantine (isolated, paused or stopped by the detection policy or by hand).
        """
        CREATE TABLE quarantines (
            workspace_id  TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            action        TEXT NOT NULL CHECK (action IN ('isolate', 'pause', 'stop')),
            reason        TEXT NOT NULL,
            since         INTEGER NOT NULL,         -- unix ms
            by_policy     INTEGER NOT NULL,         -- 1: the detection policy took it; only an admin releases it
            actor_uid     INTEGER NOT NULL
        );
        """,
        // #17: a network may span hosts: its VXLAN VNI (the same on every member host) and the peers it spans.
        """
        ALTER TABLE networks ADD COLUMN vni INTEGER;   -- null: the network is this host's alone
        ALTER TABLE networks ADD COLUMN span TEXT NOT NULL DEFAULT '';  -- member peers' names, comma-separated
        CREATE UNIQUE INDEX networks_vni ON networks(vni) WHERE vni IS NOT NULL;
        """,
        // Moves between peers (issue #13), on both sides: one row per migration ticket, keyed by the ticket's hash.
        // The primary key and the unique nonce are the replay refusal: a ticket seen once is never accepted again,
        // whatever its outcome. The phase is written before the phase acts, so a restart knows where it stopped.
        """
        CREATE TABLE migrations (
            ticket_hash   TEXT PRIMARY KEY,         -- sha256 hex of the ticket's canonical JSON
            nonce         TEXT NOT NULL UNIQUE,
            role          TEXT NOT NULL,            -- 'source' | 'destination'
            workspace_id  TEXT NOT NULL,
            name          TEXT NOT NULL,
            peer          TEXT NOT NULL,            -- the other host's peer name
            mode          TEXT NOT NULL,            -- cold | stateful | live
            phase         TEXT NOT NULL,            -- Begin | Prepare | Perform | Finish | Confirm
            outcome       TEXT,                     -- null while under way; Succeeded | Failed | Refused | Unknown
            detail        TEXT,                     -- why, for a person
            started_at    INTEGER NOT NULL,
            updated_at    INTEGER NOT NULL
        );
        """,
        // #17 (wt-playground): a playground is its document (as applied) and its members; a member deleted
        // by hand leaves the playground (the next apply makes it again).
        """
        CREATE TABLE playgrounds (
            name        TEXT PRIMARY KEY,          -- also its network's name
            owner       INTEGER NOT NULL,
            document    TEXT NOT NULL,             -- the text last applied
            ssh_public  TEXT NOT NULL,             -- the members' shared key pair: OpenSSH public key
            ssh_sealed  TEXT NOT NULL,             -- and its private key sealed to this host's key (base64)
            created_at  INTEGER NOT NULL,
            applied_at  INTEGER NOT NULL
        );
        CREATE TABLE playground_members (
            playground   TEXT NOT NULL REFERENCES playgrounds(name) ON DELETE CASCADE,
            workspace_id TEXT NOT NULL UNIQUE REFERENCES workspaces(id) ON DELETE CASCADE,
            name         TEXT NOT NULL,
            role         TEXT NOT NULL,
            idx          INTEGER NOT NULL,
            PRIMARY KEY (playground, name)
        );
        """,
        // wt-movecopy: each workspace's named guest CPU model (issue #13 item 6). Workspaces made before ran with
        // QEMU's -cpu max under TCG (the host's CPU under KVM), and keep it: 'max' is what they were booted with.
        """
        ALTER TABLE workspaces ADD COLUMN cpu_model TEXT NOT NULL DEFAULT 'max';
        ALTER TABLE workspaces ADD COLUMN copied_from TEXT;
        ALTER TABLE migrations ADD COLUMN copy INTEGER NOT NULL DEFAULT 0;
        """,
        // #13 (wt-recover): what a move's source announced to this host at Perform (the ticket and the overlay's and
        // saved state's hashes), durable so a restarted destination knows what it had; goes with its migration row.
        """
        CREATE TABLE migration_transfers (
            ticket_hash  TEXT PRIMARY KEY REFERENCES migrations(ticket_hash) ON DELETE CASCADE,
            perform      TEXT NOT NULL              -- PeerMigrationPerform as JSON (it carries the signed ticket)
        );
        """,
        // #17 (wt-pgpeers): a playground's members on peers, known here by name and host (the workspace is the peer's).
        """
        CREATE TABLE playground_remote_members (
            playground   TEXT NOT NULL REFERENCES playgrounds(name) ON DELETE CASCADE,
            name         TEXT NOT NULL,
            role         TEXT NOT NULL,
            idx          INTEGER NOT NULL,
            host         TEXT NOT NULL,             -- the peer's name in this host's directory
            PRIMARY KEY (playground, name)
        );
        """,
        // #17 (wt-pgtrust): on a peer, the members it hosts for playgrounds other hosts applied: which playground,
        // role and index, and the applying host, so it signs (and lists) only those. Goes with its workspace.
        """
        CREATE TABLE playground_hosted_members (
            workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
            playground   TEXT NOT NULL,
            applied_by   TEXT NOT NULL,             -- the applying peer's name in this host's directory
            name         TEXT NOT NULL,
            role         TEXT NOT NULL,
            idx          INTEGER NOT NULL,
            recorded_at  INTEGER NOT NULL           -- unix ms, when the applying host named it
        );
        """,
        // A spanning network's one MTU, decided from its hosts' underlay when it is made (NULL: made at the fixed 1370).
        """
        ALTER TABLE networks ADD COLUMN mtu INTEGER;
        ALTER TABLE networks ADD COLUMN slice_from INTEGER;  -- this host's share of a spanning network's addresses (host offsets)
        ALTER TABLE networks ADD COLUMN slice_to INTEGER;
        """,
    ];

    public static int Latest => Steps.Length;

    public static void Apply(SqliteConnection connection) => Apply(connection, Steps.Length);

    /// <summary>Only up to a step: for tests that make a database as an older daemon left it.</summary>
    internal static void Apply(SqliteConnection connection, int upTo)
    {
        int version = connection.ExecuteScalar<int>("PRAGMA user_version;");
        if (version > Steps.Length)
            throw new InvalidOperationException($"the database has schema version {version}, newer than this daemon's {Steps.Length}; refusing to touch it");
        // A step may rebuild a table others reference: with foreign keys on, dropping the old one would
        // cascade into them. They are off while steps run (the pragma is ignored inside a transaction),
        // and each step must leave every reference intact before it commits.
        connection.Execute("PRAGMA foreign_keys = OFF;");
        try
        {
            for (int step = version; step < upTo; step++)
            {
                using var tx = connection.BeginTransaction();
                connection.Execute(Steps[step], transaction: tx);
                if (connection.ExecuteScalar<long>("SELECT COUNT(*) FROM pragma_foreign_key_check;", transaction: tx) > 0)
                    throw new InvalidOperationException($"schema step {step + 1} would leave references dangling; nothing was changed");
                connection.Execute($"PRAGMA user_version = {step + 1};", transaction: tx);
                tx.Commit();
            }
        }
        finally
        {
            connection.Execute("PRAGMA foreign_keys = ON;");
        }
    }
}
