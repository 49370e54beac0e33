#!/usr/bin/env bash
# The whole check, as CI runs it: build, static checks, lint of the example pipelines,
# then every test (unit and integration) against the real local stack. A stack that was
# already up is reused and left up; one started here is stopped here, pass or fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

step() { printf '\n== %s\n' "$*"; }

# The tests find the stack where stack-up.sh puts it (ports overridable, see lib.sh).
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${AESTREAM_KAFKA_PORT:-9092}}"
export INFLUX_URL="${INFLUX_URL:-http://127.0.0.1:${AESTREAM_INFLUX_PORT:-8086}}"

step "build"
npm run --silent build

step "static checks (tsc, eslint, prettier, layer rules)"
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx prettier --check . >/dev/null
npx depcruise src --config .dependency-cruiser.cjs

step "lint the example pipelines"
# As the installed command runs (its shebang line starts node with the flags on it).
./bin/aestream.js lint pipelines/*.yaml

step "local stack"
if bash deploy/local/stack-status.sh >/dev/null 2>&1; then
  echo "reusing the running stack"
else
  trap 'step "stopping the stack started for the tests"; bash deploy/local/stack-down.sh' EXIT
  bash deploy/local/stack-up.sh
fi

step "tests"
mkdir -p .stack
results=.stack/jest-results.json
set +e
# --forceExit: a test that times out can leave a client retrying against a service its
# teardown stopped; the results are written either way, and CI must not hang on it.
npx jest --ci --forceExit --json --outputFile="$results" "$@"
status=$?
set -e
# One plain closing line that any CI reader understands.
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$PWD/$results" || true
exit $status
