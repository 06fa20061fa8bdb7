#!/usr/bin/env bash
# make review NAME=<name> [ARGS=...]: builds attempts/NAME and runs its review, kept in
# attempts/NAME/reviews. Unknown NAME lists the attempts and exits 2; an attempt that does not
# compile shows the compiler's message and what the kind's contract requires, and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:-}
shift || true
CARGO=${CARGO:-cargo}
existing=""
for d in attempts/*/; do
  [ -f "$d/Cargo.toml" ] && existing+="$(basename "$d") "
done
if [ -z "$NAME" ] || [ ! -f "attempts/$NAME/Cargo.toml" ] || [ ! -f "attempts/$NAME/.review-kind" ]; then
  echo "make review: no attempt named '$NAME'; attempts: ${existing:-none yet}" >&2
  echo "  create one with: make attempt KIND=channel NAME=mine (or KIND=lock, KIND=queue, KIND=pool)" >&2
  exit 2
fi
kind=$(cat "attempts/$NAME/.review-kind")
export CARGO_TARGET_DIR=${ATTEMPTS_TARGET:-$PWD/target/attempts}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "building attempts/$NAME into $CARGO_TARGET_DIR (the first build compiles the dependencies: a few minutes)" >&2
if ! $CARGO build --manifest-path "attempts/$NAME/Cargo.toml" --bin review 2> "$log"; then
  cat "$log" >&2
  echo >&2
  echo "make review: attempts/$NAME does not compile (the compiler's message is above)." >&2
  cat "review/templates/$kind/CONTRACT.md" >&2
  exit 2
fi
exec "$CARGO_TARGET_DIR/debug/review" --history "attempts/$NAME/reviews" "$@"
