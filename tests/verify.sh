#!/usr/bin/env bash
# Runs the test lists of `make miri` and `make sanitize` (tests/miri.txt, tests/sanitize.txt).
#
#   tests/verify.sh miri                 every line of tests/miri.txt under Miri
#   tests/verify.sh sanitize thread      every line of tests/sanitize.txt under ThreadSanitizer
#   tests/verify.sh sanitize address     ... under AddressSanitizer
#   tests/verify.sh mutants [FILE]       cargo mutants over each file of tests/mutants.txt (or one of them),
#                                        at most MUTANTS_BUDGET seconds a file; results in target/mutants/
#
# A list line is `package target [filter ...] [; extra flags]`: `target` is `lib` for the package's unit
# tests or the name of an integration test; the filter goes to the test binary; the flags after `;` go
# to MIRIFLAGS (miri), or say `only=thread` / `only=address` (sanitize). Comments (#) say why a line needs its flags.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=${1:?usage: tests/verify.sh miri | sanitize thread|address}
nightly=${NIGHTLY:-+nightly}
case $mode in
  miri) list=tests/miri.txt ;;
  sanitize)
    san=${2:?usage: tests/verify.sh sanitize thread|address}
    case $san in thread|address) ;; *) echo "error: unknown sanitizer '$san' (thread or address)" >&2; exit 2 ;; esac
    list=tests/sanitize.txt
    triple=$(rustc -vV | sed -n 's/^host: //p') ;;
  mutants)
    command -v cargo-mutants >/dev/null || { echo "error: cargo-mutants is not installed (cargo install cargo-mutants)" >&2; exit 2; }
    only=${2:-}
    budget=${MUTANTS_BUDGET:-1800}
    list=tests/mutants.txt ;;
  *) echo "error: unknown mode '$mode' (miri, sanitize or mutants)" >&2; exit 2 ;;
esac

total_start=$(date +%s)
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  [ -z "${line// }" ] && continue
  spec=${line%%;*}
  flags=""
  [[ $line == *";"* ]] && flags=${line#*;}
  read -r pkg target filter <<<"$spec"
  if [ "$mode" = mutants ]; then
    [ -n "$only" ] && [ "$target" != "$only" ] && continue
    out=target/mutants/$(echo "$target" | tr '/' '_' | sed 's/\.rs$//')
    mkdir -p "$out"
    echo "== mutants: $target (tests: ${flags:-all of $pkg}; budget ${budget} s)"
    start=$(date +%s)
    # cargo mutants exits 2 when a mutant survives, 3 on timeouts, 4 when the unmutated tree fails.
    rc=0
    timeout "$budget" cargo mutants -p "$pkg" -f "$target" -o "$out" --timeout 300 --no-shuffle -- $flags || rc=$?
    if [ "$rc" -eq 124 ]; then echo "   budget of $budget s spent: partial result in $out/mutants.out"; fi
    echo "   exit $rc after $(( $(date +%s) - start )) s; missed: $(wc -l < "$out/mutants.out/missed.txt" 2>/dev/null || echo ?)," \
         "caught: $(wc -l < "$out/mutants.out/caught.txt" 2>/dev/null || echo ?), timeouts: $(wc -l < "$out/mutants.out/timeout.txt" 2>/dev/null || echo ?)"
    continue
  fi
  if [ "$target" = lib ]; then sel=(--lib); else sel=(--test "$target"); fi
  start=$(date +%s)
  if [ "$mode" = miri ]; then
    echo "== miri: -p $pkg ${sel[*]} ${filter:-} ${flags:+(MIRIFLAGS:$flags)}"
    MIRIFLAGS="${MIRIFLAGS:-} $flags" CARGO_TARGET_DIR=${MIRI_TARGET:-target/miri} \
      cargo $nightly miri test -q -p "$pkg" "${sel[@]}" -- ${filter:-}
  else
    if [[ $flags == *only=* && $flags != *only=$san* ]]; then
      echo "== $san sanitizer: SKIPPED -p $pkg ${sel[*]} ${filter:-} (listed for ${flags#*only=} only; tests/sanitize.txt says why)"
      continue
    fi
    echo "== $san sanitizer: -p $pkg ${sel[*]} ${filter:-}"
    # --cfg tsan: where our code uses an Acquire fence, ThreadSanitizer (which does not model fences)
    # gets the equivalent Acquire load instead.
    cfgs=""; [ "$san" = thread ] && cfgs="--cfg tsan"
    RUSTFLAGS="-Zsanitizer=$san $cfgs" RUSTDOCFLAGS="-Zsanitizer=$san $cfgs" \
    TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
    ASAN_OPTIONS="detect_leaks=1" \
    CARGO_TARGET_DIR=${SANITIZE_TARGET:-target/sanitize}/$san \
      cargo $nightly test -q -Zbuild-std --target "$triple" -p "$pkg" "${sel[@]}" -- ${filter:-}
  fi
  echo "   ok in $(( $(date +%s) - start )) s"
done < "$list"
echo "== $mode ${san:-}: every listed test passed in $(( $(date +%s) - total_start )) s"
