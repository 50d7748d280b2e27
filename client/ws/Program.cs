using System.CommandLine;
using Workspaces.Cli;
using Workspaces.Cli.Commands;

// ws: the command-line client of workspacesd. Each command maps to one API call (or a call and a wait).
var root = new RootCommand("ws — manage Workspaces (QEMU guests run by workspacesd)");
root.Options.Add(Cli.SocketOption);
root.Options.Add(Cli.JsonOption);
root.Options.Add(Cli.OwnerOption);
root.Options.Add(Cli.PeerOption);
HostCommands.Add(root);
ImageCommands.Add(root);
TrustCommands.Add(root);
AuditCommands.Add(root);
IdentityCommands.Add(root);
WorkspaceCommands.Add(root);
GuestCommands.Add(root);
FactoryCommands.Add(root);
DiskCommands.Add(root);
NetworkCommands.Add(root);
EventCommands.Add(root);
QuarantineCommands.Add(root);
PeerCommands.Add(root);
PlaceCommands.Add(root);
MoveCommands.Add(root);
PlaygroundCommands.Add(root);
return await root.Parse(args).InvokeAsync();
