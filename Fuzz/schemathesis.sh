#!/usr/bin/env bash
# Runs schemathesis (PyPI) against a throwaway winmdm server's /graph/openapi.json with an admin and a reader token,
# on v1.0 and beta, checking that no request gets a 5xx. Installs schemathesis when missing.
#   Fuzz/schemathesis.sh            # 40 examples per operation
#   EXAMPLES=200 Fuzz/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v st >/dev/null || pip install -q schemathesis
[ -x .build/debug/winmdm ] || swift build --product winmdm
bin=$PWD/.build/debug/winmdm
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$dir" --listen 127.0.0.1:$port --public-url https://localhost:$port >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 120); do grep -q "listening on" "$dir/serve.log" 2>/dev/null && break; sleep 0.5; done
admin=$(cat "$dir/admin-token")
reader=$("$bin" tokens create --role reader --name schemathesis --data-dir "$dir" | grep -o 'wmdm_[A-Za-z0-9_-]*' | head -1)
status=0
for role in admin reader; do
  token=$admin; [ $role = reader ] && token=$reader
  for version in v1.0 beta; do
    echo "== $role on $version"
    st run "https://localhost:$port/graph/openapi.json" --url "https://localhost:$port/graph/$version" \
      -H "Authorization: Bearer $token" --tls-verify false -c not_a_server_error -n "${EXAMPLES:-40}" >"$dir/st.log" 2>&1 || status=1
    grep -E "generated|passed|failed|Server error" "$dir/st.log" | tail -3
  done
done
exit $status
