#!/usr/bin/env bash
# The README's two commands, exactly as written there, on a fresh machine: a clean clone of HEAD, the
# machine's Node first on PATH (Node 20 on the CI machines), a new empty HOME and no environment carried
# over, so only what `npm ci` installs (the pinned `node` devDependency) can make them work. Then the
# path of a machine without Chromium: the browser tests skipped with the install command, and failing
# instead when CI=true. Exits non-zero if anything differs; .ci/run calls it after the main tests.
#
#   scripts/fresh-machine.sh        (needs git, npm and the npm registry; FRESH_MACHINE_KEEP=1 keeps the clone and logs)
#
# npm's cache: the caller's npm_config_cache if set (.ci/run passes its own, so nothing is downloaded
# twice), else an empty one in the new HOME, as on a new machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mailport-fresh.XXXXXX")
if [ "${FRESH_MACHINE_KEEP:-}" = 1 ]; then
  echo "fresh-machine: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# The README's commands: the lines of its first ```sh block, without their comments.
mapfile -t commands < <(awk '/^```sh$/ { block = 1; next } block && /^```/ { exit } block' "$repo/README.md" | sed -E 's/[[:space:]]+#.*$//; /^[[:space:]]*$/d')
if [ "${#commands[@]}" -ne 2 ]; then
  echo "fresh-machine: expected the README's two commands in its first \`\`\`sh block, found ${#commands[@]}: ${commands[*]}" >&2
  exit 1
fi

# The machine's node and npm, not one a calling npm script put first on PATH.
machine_path=$(printf '%s\n' "$PATH" | tr ':' '\n' | grep -v '/node_modules/\.bin$' | paste -sd: -)
node_dir=$(dirname "$(PATH=$machine_path command -v node)")
npm_dir=$(dirname "$(PATH=$machine_path command -v npm)")
fresh_path=$(printf '%s\n' "$node_dir" "$npm_dir" /usr/bin /bin | awk '!seen[$0]++' | paste -sd: -)

mkdir "$work/home"
git -c advice.detachedHead=false clone -q "$repo" "$work/clone"
cd "$work/clone"
[ "$(git rev-parse HEAD)" = "$(git -C "$repo" rev-parse HEAD)" ] || { echo "fresh-machine: the clone is not at HEAD" >&2; exit 1; }

# A fresh machine's environment: PATH, HOME, and only the network settings a machine has.
fresh_env=(HOME="$work/home" PATH="$fresh_path")
for name in npm_config_cache npm_config_registry http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY NODE_EXTRA_CA_CERTS TMPDIR; do
  if [ -n "${!name:-}" ]; then fresh_env+=("$name=${!name}"); fi
done
echo "fresh-machine: clean clone of $(git rev-parse --short HEAD), PATH=$fresh_path, node $(env -i "${fresh_env[@]}" node -v), npm $(env -i "${fresh_env[@]}" npm -v)"

# Runs a command in the fresh environment and sets $status and $log (its output, without colours).
step() {
  local name=$1 start=$SECONDS
  shift
  log="$work/$name.log"
  status=0
  env -i "${fresh_env[@]}" "$@" >"$log.raw" 2>&1 || status=$?
  sed -E 's/\x1b\[[0-9;]*m//g' "$log.raw" >"$log"
  echo "fresh-machine: $name: exit $status, $((SECONDS - start)) s"
}
fail() {
  echo "fresh-machine: FAILED: $1; the end of its output:" >&2
  tail -n 150 "$log" >&2
  exit 1
}

for index in "${!commands[@]}"; do
  echo "fresh-machine: \$ ${commands[index]}"
  step "readme-$((index + 1))" bash -c "${commands[index]}"
  [ "$status" -eq 0 ] || fail "${commands[index]}"
  grep -E '^ *(Test Files|Tests) ' "$log" || tail -n 5 "$log"
done

# The scripts' Node is the pinned one, also through npx.
pinned=$(node -p 'require("./package.json").devDependencies.node')
step npx-node npx node -v
[ "$status" -eq 0 ] && [ "$(cat "$log")" = "v$pinned" ] || fail "npx node -v: expected v$pinned"

# Without Chromium (MAILPORT_TEST_WITHOUT=chromium makes the finder find none), every browser test
# (*.browser.test.ts) is skipped, with the command that installs it; with CI=true they fail instead.
browser_tests=.browser.test.ts
step no-chromium env MAILPORT_TEST_WITHOUT=chromium npx vitest run --config vitest.browser.config.ts "$browser_tests"
[ "$status" -eq 0 ] || fail "the browser tests without Chromium: expected them skipped"
grep -q 'Skipped: Chromium not found' "$log" && grep -q 'apt-get install -y --no-install-recommends chromium' "$log" &&
  grep -Eq 'Test Files +([0-9]+) skipped \(\1\)' "$log" || fail "the browser tests without Chromium: expected every one skipped, with the install command"
grep -E 'Test Files|Skipped: Chromium' "$log" | sort -u

step no-chromium-ci env MAILPORT_TEST_WITHOUT=chromium CI=true npx vitest run --config vitest.browser.config.ts "$browser_tests"
[ "$status" -ne 0 ] || fail "the browser tests without Chromium, CI=true: expected a failure"
grep -q 'in CI every test must run' "$log" || fail "the browser tests without Chromium, CI=true: expected the reason"

echo "fresh-machine: ok"
