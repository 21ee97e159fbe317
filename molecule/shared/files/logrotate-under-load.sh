#!/usr/bin/env bash
# Forces a logrotate while the gateway writes, and proves no line is lost and the gateway
# stays ready without a restart. Writer: each hot reload of openclaw.json makes the gateway log
# a "config change detected" line; we make N reloads and rotate in the middle.
# Usage: logrotate-under-load.sh CONFIG LOGDIR PORT
set -euo pipefail
cfg=$1; logdir=$2; port=$3; n=8
count() { zcat -f "$logdir"/openclaw.log* 2>/dev/null | grep -c 'config change detected' || true; }
ready() { python3 -c "import json,sys,urllib.request;sys.exit(0 if json.load(urllib.request.urlopen('http://127.0.0.1:$port/readyz',timeout=3)).get('ready') else 1)"; }
pid() { systemctl show -p MainPID --value openclaw-gateway.service; }
cp -p "$cfg" "$cfg.before-logrotate-test"
trap 'cp -p "$cfg.before-logrotate-test" "$cfg"; rm -f "$cfg.before-logrotate-test"' EXIT
before=$(count); pid0=$(pid)
for i in $(seq 1 "$n"); do
  level=$([ $((i % 2)) -eq 0 ] && echo warn || echo error)
  python3 - "$cfg" "$level" <<'PY'
import json, sys
p, level = sys.argv[1], sys.argv[2]
d = json.load(open(p)); d["logging"]["consoleLevel"] = level
open(p, "w").write(json.dumps(d, indent=2, sort_keys=True) + "\n")
PY
  sleep 1.5
  if [ "$i" -eq $((n / 2)) ]; then logrotate -f /etc/logrotate.d/openclaw-gateway; fi
  ready || { echo "gateway not ready after reload $i"; exit 1; }
done
sleep 1
after=$(count); rotated=$(ls "$logdir" | grep -c '^openclaw.log-' || true)
echo "reload lines before=$before after=$after expected=$((before + n)) rotated_files=$rotated pid_before=$pid0 pid_after=$(pid)"
[ "$rotated" -ge 1 ] || { echo "no rotated file"; exit 1; }
[ "$after" -eq $((before + n)) ] || { echo "lines lost across rotation"; exit 1; }
[ "$(pid)" = "$pid0" ] || { echo "gateway restarted during rotation"; exit 1; }
[ -s "$logdir/openclaw.log" ] || { echo "gateway did not recreate its log"; exit 1; }
