#!/bin/sh
# Installs the runtimes the runtime-matrix tests use (Bun, Deno, and wrangler for workerd) into a
# cache of their own, not into the repository: `npm ci` stays lean, and these are test tools only.
#
#   scripts/install-runtimes.sh            # all three
#   scripts/install-runtimes.sh bun deno   # some
#
# The tests find them in $MAILPORT_RUNTIMES (default ~/.cache/mailport-runtimes)/node_modules/.bin.
set -eu
prefix="${MAILPORT_RUNTIMES:-$HOME/.cache/mailport-runtimes}"
packages=""
for name in ${*:-bun deno wrangler}; do
  case "$name" in
    bun) packages="$packages bun@1.4.5" ;;
    deno) packages="$packages deno@2.9.6" ;;
    wrangler) packages="$packages wrangler@4.164.0" ;;
    *) echo "unknown runtime: $name (known: bun deno wrangler)" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
# bun, deno, workerd and esbuild put their platform binaries in place in postinstall scripts: allowed
# by name, as npm 11 asks (allowScripts), so a newer npm that blocks unlisted scripts still installs them.
[ -f "$prefix/package.json" ] || printf '{ "private": true, "description": "runtimes for the mailport runtime-matrix tests", "allowScripts": { "bun": true, "deno": true, "workerd": true, "esbuild": true } }\n' > "$prefix/package.json"
# bun and deno fetch their binaries in postinstall scripts (optional platform packages).
# shellcheck disable=SC2086
npm install --prefix "$prefix" --no-audit --no-fund --save-exact $packages
ls "$prefix/node_modules/.bin"
