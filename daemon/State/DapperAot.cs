// Dapper's SQL mapping is generated at build time (Dapper.AOT), so the daemon can be published Native AOT.
[module: Dapper.DapperAot]
