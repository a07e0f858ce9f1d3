#!/usr/bin/env bash
# Builds the player page's embedded assets into internal/web/assets:
#   - web/src/ (page templates, script, stylesheet), copied as it is;
#   - the vendored players from web/node_modules (hls.js, dashjs), byte for byte;
#   - assets/VENDOR.sha256, naming each vendored file's package, version,
#     source path and SHA-256, which internal/web's tests check.
# The output is committed, so `go build` never needs npm.
# Runs `npm ci` first when web/node_modules is missing.
set -euo pipefail

web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(cd "$web/.." && pwd)/internal/web/assets"
cd "$web"

if [ ! -d node_modules ]; then
	npm ci --ignore-scripts --no-audit --no-fund
fi

# package  source (inside node_modules/package)  destination (inside assets)
vendored=(
	"hls.js dist/hls.min.js static/hls.min.js"
	"hls.js LICENSE static/hls.js.LICENSE"
	"dashjs dist/modern/umd/dash.mediaplayer.min.js static/dash.mediaplayer.min.js"
	"dashjs dist/modern/umd/dash.mediaplayer.min.js.LICENSE.txt static/dash.mediaplayer.min.js.LICENSE.txt"
	"dashjs LICENSE.md static/dashjs.LICENSE.md"
)

# pinned PACKAGE: the exact version web/package.json asks for.
pinned() {
	node -e 'const p = require("./package.json"); const v = (p.dependencies || {})[process.argv[1]];
		if (!/^\d+\.\d+\.\d+$/.test(v || "")) { console.error(`web/package.json: ${process.argv[1]} must be pinned to an exact version, not "${v}"`); process.exit(1); }
		console.log(v);' "$1"
}

# installed PACKAGE: the version in node_modules.
installed() {
	node -e 'console.log(require(`./node_modules/${process.argv[1]}/package.json`).version)' "$1"
}

rm -rf "$out"
mkdir -p "$out/static" "$out/pages"
cp -R src/. "$out/"

manifest="$out/VENDOR.sha256"
{
	echo "# Vendored player files, written by web/build.sh from web/node_modules. Do not edit."
	echo "# sha256  asset  package  version  source"
} >"$manifest"

for entry in "${vendored[@]}"; do
	read -r pkg src dst <<<"$entry"
	want="$(pinned "$pkg")"
	have="$(installed "$pkg")"
	if [ "$want" != "$have" ]; then
		echo "web/node_modules has $pkg $have but package.json pins $want: rm -rf web/node_modules and run again" >&2
		exit 1
	fi
	cp "node_modules/$pkg/$src" "$out/$dst"
	sum="$(sha256sum "$out/$dst" | cut -d' ' -f1)"
	echo "$sum  $dst  $pkg  $have  $src" >>"$manifest"
done

echo "built $(find "$out" -type f | wc -l) files into internal/web/assets"
