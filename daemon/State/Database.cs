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
        KeepReserve();
    }

    public string Path { get; }

    private string ReservePath => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "space-reserve");
    private const long ReserveBytes = 8 << 20;
    private const int SqliteFull = 13;

    /// <summary>
    /// Runs a change that frees space (a delete). On a full disk SQLite cannot even write the delete
    /// to its journal, so space could never be freed through the API; the daemon keeps a reserve file
    /// for exactly this, gives it up to let the delete through, and takes it back when there is room.
    /// </summary>
    public T Freeing<T>(Func<T> change)
    {
        T result;
        try
        {
            result = change();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteFull && File.Exists(ReservePath))
        {
            File.Delete(ReservePath);
            result = change();
        }
        KeepReserve();
        return result;
    }

    public void Freeing(Action change) => Freeing(() => { change(); return true; });

    /// <summary>Makes the reserve file (allocated, not sparse) if it is missing and there is room; a full disk leaves it for later.</summary>
    public void KeepReserve()
    {
        if (File.Exists(ReservePath)) return;
        string staging = ReservePath + ".new";
        try
        {
            using (File.OpenHandle(staging, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, preallocationSize: ReserveBytes)) { }
            File.Move(staging, ReservePath);
        }
        catch (IOException)
        {
            File.Delete(staging);
        }
    }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        // Per-connection settings: enforce references, wait for the writer instead of failing.
        connection.Execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;");
        return connection;
    }
}
