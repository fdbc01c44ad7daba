#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Sources/WinMDMFuzz) and runs them, seeded from the captured samples.
#
#   Fuzz/run.sh                          # every harness, 1,000,000 inputs each
#   Fuzz/run.sh soap syncml              # some harnesses
#   FUZZ_RUNS=0 FUZZ_SECONDS=3600 Fuzz/run.sh explain   # an hour, no input limit
#   FUZZ_SECONDS=30 Fuzz/run.sh          # what CI does: 30 seconds each
#
# The corpus grows in .build-fuzz/corpus/<harness>; a crashing input lands in .build-fuzz/artifacts/ and the script
# exits 1. Replay one with: WINMDM_FUZZ_TARGET=soap .build-fuzz/release/winmdm-fuzz <file>
set -euo pipefail
cd "$(dirname "$0")/.."
all=(soap syncml csr pkcs7 explain odata)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-0}

WINMDM_FUZZ=1 swift build -c release --sanitize fuzzer --scratch-path .build-fuzz --product winmdm-fuzz
bin=.build-fuzz/release/winmdm-fuzz
python3 Fuzz/seeds.py .build-fuzz/corpus
mkdir -p .build-fuzz/artifacts .build-fuzz/logs

failed=0
summary=()
for t in "${targets[@]}"; do
  log=.build-fuzz/logs/$t.log
  args=(-max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
        -artifact_prefix=.build-fuzz/artifacts/"$t"- .build-fuzz/corpus/"$t")
  [ "$seconds" -gt 0 ] && args=(-max_total_time="$seconds" "${args[@]}")
  [ "$runs" -gt 0 ] && args=(-runs="$runs" "${args[@]}")
  echo "== $t"
  if WINMDM_FUZZ_TARGET=$t "$bin" "${args[@]}" >"$log" 2>&1; then status=ok; else status=CRASH; failed=1; fi
  units=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  summary+=("$(printf '%-8s %-6s %12s inputs' "$t" "$status" "$units")")
  [ "$status" = ok ] || tail -40 "$log"
done
echo
echo "harness  result       inputs"
printf '%s\n' "${summary[@]}"
exit $failed
