#!/usr/bin/env bash
# Builds the Temporal server, its SQL schema tool and (where it builds) the Web UI server, at the versions
# pinned in deploy/temporal/versions.env, from the Go module proxy into .tools/temporal-<version>/, and
# copies the server's PostgreSQL schema files beside them. This is the cluster mode's Temporal
# (npm run start:cluster, npm run test:cluster): the same server the compose deployment runs as an image.
#
# Idempotent and cached: a second run with the binaries in place does nothing; a clean clone on a machine
# that built once before reuses Go's module and build caches (seconds instead of minutes).
# Prints the folder it built into as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../deploy/temporal/versions.env
source deploy/temporal/versions.env

DIR="$PWD/.tools/temporal-$TEMPORAL_SERVER_VERSION"
SERVER_MODULE=go.temporal.io/server
UI_MODULE=github.com/temporalio/ui-server/v2

say() { echo "[build-temporal] $*" >&2; }

if ! command -v go >/dev/null; then
  say "Go is not installed: the cluster mode builds Temporal $TEMPORAL_SERVER_VERSION from the Go module proxy."
  say "Install Go 1.25.7 or later (the server's go.mod asks for it; Go fetches a newer toolchain itself only where it can), or use the dev server mode (npm start)."
  exit 1
fi

# One binary per folder: both modules name their command `server`.
build() { # package version target-name
  local package=$1 version=$2 name=$3 out
  out=$(mktemp -d "$DIR/.build-XXXXXX")
  GOBIN="$out" GOFLAGS=-buildvcs=false go install "$package@v$version"
  mv "$out/$(basename "$package")" "$DIR/$name"
  rmdir "$out"
}

mkdir -p "$DIR"
if [ ! -x "$DIR/temporal-server" ] || [ ! -x "$DIR/temporal-sql-tool" ] || [ ! -d "$DIR/schema/postgresql" ] || [ ! -f "$DIR/config/docker.yaml" ]; then
  say "building Temporal server $TEMPORAL_SERVER_VERSION and temporal-sql-tool (first time: a few minutes)"
  build "$SERVER_MODULE/cmd/server" "$TEMPORAL_SERVER_VERSION" temporal-server
  build "$SERVER_MODULE/cmd/tools/sql" "$TEMPORAL_SERVER_VERSION" temporal-sql-tool
  # The versioned schema files temporal-sql-tool applies (they ship in the module, not in the binaries),
  # and, for operators and the compose test, the config template compiled into the server.
  src=$(go mod download -json "$SERVER_MODULE@v$TEMPORAL_SERVER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$DIR/schema"
  mkdir -p "$DIR/schema"
  cp -R "$src/schema/postgresql" "$DIR/schema/"
  mkdir -p "$DIR/config"
  cp "$src/config/docker.yaml" "$DIR/config/docker.yaml"
  chmod -R u+w "$DIR/schema" "$DIR/config"
fi

# The Web UI is optional: the cluster runs without it, and says so, when it does not build here. Its go.mod
# has a replace directive, which `go install module@version` refuses, so it is built as the main module
# from a copy of its source (its web assets are embedded in the module, nothing else is downloaded).
build_ui() {
  local src work
  src=$(go mod download -json "$UI_MODULE@v$TEMPORAL_UI_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  work=$(mktemp -d "$DIR/.ui-src-XXXXXX")
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  (cd "$work" && GOFLAGS=-buildvcs=false go build -o "$DIR/temporal-ui-server" ./cmd/server)
  rm -rf "$work"
}
if [ ! -x "$DIR/temporal-ui-server" ] && [ ! -f "$DIR/temporal-ui-server.failed" ]; then
  say "building the Temporal Web UI server $TEMPORAL_UI_VERSION"
  if ! build_ui 2>"$DIR/temporal-ui-server.log"; then
    say "the Web UI server did not build (see $DIR/temporal-ui-server.log); the cluster runs without it"
    touch "$DIR/temporal-ui-server.failed"
  fi
fi

"$DIR/temporal-server" --version >&2
echo "$DIR"
