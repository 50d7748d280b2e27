using System.Collections.Concurrent;
using System.Threading.Channels;
using Workspaces.Client;

namespace Workspaces.Daemon.Core;

/// <summary>Fans lifecycle and operation events out to every GET /v1/events subscriber.</summary>
public sealed class EventBus
{
    private readonly ConcurrentDictionary<Channel<EventInfo>, Caller> _subscribers = new();

    public void Publish(EventInfo e, uint? owner = null)
    {
        foreach (var (channel, caller) in _subscribers)
        {
            if (owner is { } o && !caller.CanSee(o)) continue;
            channel.Writer.TryWrite(e);
        }
    }

    /// <summary>A bounded queue per subscriber: a reader that falls far behind loses old events rather than memory.</summary>
    public ChannelReader<EventInfo> Subscribe(Caller caller, CancellationToken ct)
    {
        var channel = Channel.CreateBounded<EventInfo>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
        _subscribers[channel] = caller;
        ct.Register(() =>
        {
            _subscribers.TryRemove(channel, out _);
            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }
}
