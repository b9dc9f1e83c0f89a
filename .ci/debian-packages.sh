# Source this: `sy_need_deb PACKAGE COMMAND...` installs a Debian package when one of its
# commands is missing (root, or passwordless sudo). Services the package would start are
# denied for the install (a policy-rc.d answering 101, which invoke-rc.d and
# deb-systemd-invoke both ask): prometheus would otherwise take :9090, the demo's admin port.
sy_need_deb() {
  local pkg=$1 cmd missing=0
  shift
  for cmd in "$@"; do command -v "$cmd" >/dev/null 2>&1 || missing=1; done
  [ "$missing" = 1 ] || return 0
  echo "installing Debian package $pkg" >&2
  local sudo="" log policy=/usr/sbin/policy-rc.d saved=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  log=$(mktemp)
  if [ -e "$policy" ]; then saved=$(mktemp) && $sudo cp -p "$policy" "$saved"; fi
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy"
  local ok=1
  { [ -n "${SY_APT_UPDATED:-}" ] || $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null; } >"$log" 2>&1 \
    && SY_APT_UPDATED=1 \
    && $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$pkg" </dev/null >>"$log" 2>&1 \
    || ok=0
  if [ -n "$saved" ]; then $sudo mv -f "$saved" "$policy"; else $sudo rm -f "$policy"; fi
  [ "$ok" = 1 ] || { cat "$log" >&2; rm -f "$log"; echo "apt-get install $pkg failed" >&2; return 1; }
  rm -f "$log"
  hash -r
  for cmd in "$@"; do command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd still missing after installing $pkg" >&2; return 1; }; done
}
