# Source this: puts Node.js 24 first on PATH, installing the `node@24` npm package (it
# ships the real binary) into a cache folder when the machine's node is older.
#   . .ci/node24.sh
sy_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(sy_node_major)" -lt 24 ]; then
  SY_NODE_CACHE="${SWITCHYARD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard-node24}"
  if [ ! -x "$SY_NODE_CACHE/node_modules/node/bin/node" ]; then
    echo "installing Node.js 24 into $SY_NODE_CACHE" >&2
    mkdir -p "$SY_NODE_CACHE"
    (cd "$SY_NODE_CACHE" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix . node@24 >&2)
  fi
  export PATH="$SY_NODE_CACHE/node_modules/node/bin:$PATH"
  hash -r
fi
[ "$(sy_node_major)" -ge 24 ] || { echo "could not get Node.js 24 (node is $(node -v 2>/dev/null))" >&2; return 1 2>/dev/null || exit 1; }
