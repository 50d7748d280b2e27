using Dapper;
using Microsoft.Data.Sqlite;

namespace Workspaces.Daemon.State;

/// <summary>
/// The daemon's SQLite file: WAL, foreign keys, and the schema brought up to date at open.
/// Connections are cheap (Microsoft.Data.Sqlite pools them); open one per unit of work.
/// </summary>
public sealed class Database
{
    private readonly string _connectionString;

    static Database() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public Database(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        connection.Execute("PRAGMA journal_mode = WAL;");
        SchemaMigrations.Apply(connection);
    }

    public string Path { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // Per-connection settings: enforce references, wait for the writer instead of failing.
        connection.Execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;");
        return connection;
    }
}
