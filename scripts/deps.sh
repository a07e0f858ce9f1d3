# Sourced by scripts/serve and scripts/test: installs what Osprey needs on a
# Debian machine when it is missing. Go 1.26 must already be installed.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} ..." >&2
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need CMD PKG: installs Debian package PKG unless command CMD is already there
# (from any source: Node.js, for one, often comes from elsewhere).
need() {
  command -v "$1" >/dev/null || apt_install "$2"
}

need_go() {
  if ! command -v go >/dev/null; then
    echo "Osprey needs Go 1.26 or newer (https://go.dev/dl/); Debian's golang package is too old." >&2
    exit 1
  fi
  export GOTOOLCHAIN=local
}
