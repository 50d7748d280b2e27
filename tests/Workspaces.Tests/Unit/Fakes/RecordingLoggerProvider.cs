using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Workspaces.Tests.Unit.Fakes;

/// <summary>Keeps every log entry, so a test can see what the daemon logged, errors above all (a watcher's failure is only logged).</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    public sealed record Entry(string Category, LogLevel Level, EventId Id, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category} [{Id.Id}] {Message}{(Exception is null ? "" : ": " + Exception)}";
    }

    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => _entries.ToList();

    /// <summary>Errors and worse.</summary>
    public IReadOnlyList<Entry> Errors => _entries.Where(e => e.Level >= LogLevel.Error).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
