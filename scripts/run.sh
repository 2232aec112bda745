#!/bin/sh
# Entry point of every npm script: makes sure a Node >= 22.13 and the locked dependencies are present, then runs the
# task under that Node. A machine with only the system Node 20 and npm gets Node 22 from the npm registry (Hardhat 3
# refuses older Nodes, and npm must run under Node 22 when it installs, or Hardhat's native simulator is skipped).
set -eu
# The directory the user ran the command from: `npm run` starts scripts in the package root and passes it as
# INIT_CWD. The CLI resolves its relative paths (--deployment, --account, ...) against it.
caller_cwd=$(pwd)
if [ "${npm_lifecycle_event:-}" = "cli" ] && [ -n "${INIT_CWD:-}" ]; then caller_cwd=$INIT_CWD; fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

node_ok() {
  command -v "$1" >/dev/null 2>&1 && "$1" -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 13) ? 0 : 1);' 2>/dev/null
}

if ! node_ok node; then
  local_bin="$root/.tools/node22/node_modules/.bin"
  if ! node_ok "$local_bin/node"; then
    echo "matchnet: system Node is $(node --version 2>/dev/null || echo missing); installing Node 22 from the npm registry into .tools/node22" >&2
    mkdir -p .tools/node22
    npm install --prefix .tools/node22 --no-save --no-audit --no-fund --loglevel=error node@22 >&2
    node_ok "$local_bin/node" || { echo "matchnet: could not install Node >= 22.13 into .tools/node22" >&2; exit 1; }
  fi
  PATH="$local_bin:$PATH"
  export PATH
fi

# Dependencies are reinstalled when the lockfile or the Node major changed since the last install.
stamp="node_modules/.matchnet-install-stamp"
want="$(node -e 'const c=require("node:crypto"),f=require("node:fs");console.log(process.versions.node.split(".")[0]+":"+c.createHash("sha256").update(f.readFileSync("package-lock.json")).digest("hex"))')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "matchnet: installing dependencies (npm ci) under Node $(node --version)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi

task=${1:-}
[ $# -gt 0 ] && shift
bin="$root/node_modules/.bin"
case "$task" in
  test) exec sh scripts/test.sh "$@" ;;
  # Long-running TypeScript entries run as `node --import tsx`, not through the tsx launcher, which forks a second
  # node and relays signals to it: a signal sent to this script's pid (exec'd into node) then reaches the process
  # itself, once (docs/operator.md, "Stopping").
  devnet) exec node --import tsx deploy/devnet.ts "$@" ;;
  # Relative paths (--account, --parameters, --out) are the caller's, as for the CLI.
  deploy) MATCHNET_CALLER_CWD=${INIT_CWD:-$caller_cwd} exec "$bin/tsx" deploy/deploy.ts "$@" ;;
  # The long-running processes run as JavaScript transpiled into .cache/js (deploy/compile-js.ts: less memory, faster
  # start than tsx). It prints their node flags (NODE_FLAGS there) and the entry, one per line: split on newlines
  # only, without globbing, so that a checkout path with spaces stays one argument.
  operator|aggregator)
    launch="$("$bin/tsx" deploy/compile-js.ts "$task")"
    set -f
    IFS='
'
    # shellcheck disable=SC2086
    exec node $launch "$@" ;;
  # One process (tsx as a loader, not as a wrapper): the pid a supervisor holds is the agent's own.
  provider-agent) exec node --import tsx agent/main.ts "$@" ;;
  explorer) exec node --import tsx explorer/main.ts "$@" ;;
  bench) exec "$bin/tsx" bench/run.ts "$@" ;;
  cli) cd "$caller_cwd" && exec "$bin/tsx" "$root/cli/main.ts" "$@" ;;
  build) exec "$bin/hardhat" build "$@" ;;
  typecheck) exec "$bin/tsc" --noEmit -p tsconfig.json "$@" ;;
  exec) exec "$@" ;;
  *) echo "usage: sh scripts/run.sh test|devnet|deploy|operator|aggregator|provider-agent|cli|explorer|bench|build|typecheck|exec <cmd> [args]" >&2; exit 2 ;;
esac
