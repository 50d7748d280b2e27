# Sourced by the test scripts (tests/run.sh, tests/hostile/run.sh, tests/soak/run.sh): from the
# checkout's root, install what is missing, build the test guest and the Native AOT binaries, and
# point the tests at what ships.
packaging/install-deps.sh
tests/guest/build.sh >/dev/null
tests/guest/build-debian.sh >/dev/null
packaging/build.sh
export WORKSPACES_DAEMON=$PWD/artifacts/workspacesd/workspacesd WORKSPACES_CLI=$PWD/artifacts/bin/ws
