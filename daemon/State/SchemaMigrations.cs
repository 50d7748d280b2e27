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
    ];

    public static int Latest => Steps.Length;

    public static void Apply(SqliteConnection connection)
    {
        int version = connection.ExecuteScalar<int>("PRAGMA user_version;");
        if (version > Steps.Length)
            throw new InvalidOperationException($"the database has schema version {version}, newer than this daemon's {Steps.Length}; refusing to touch it");
        for (int step = version; step < Steps.Length; step++)
        {
            using var tx = connection.BeginTransaction();
            connection.Execute(Steps[step], transaction: tx);
            connection.Execute($"PRAGMA user_version = {step + 1};", transaction: tx);
            tx.Commit();
        }
    }
}
