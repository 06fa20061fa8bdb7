#!/usr/bin/env bash
# make features-check: every cargo command the Makefile issues must build each shared crate with the
# same features, so that `make run` after `make test` (or the other way round, or another phase)
# rebuilds nothing but the package that changed. workspace-hack/ is what makes it true; this script
# checks it with `cargo tree` alone (nothing to install), on the features cargo itself resolves.
#
# usage: LIBRARIES='shim workpool' tests/features-check.sh PACKAGE...
#   For each PACKAGE that is not one of LIBRARIES: the features of `cargo test -p PACKAGE
#   --all-targets` (normal, build and dev edges) and of `cargo build/run -p PACKAGE` (normal and build
#   edges); plus `cargo test --workspace --doc` without the libraries. A library's own builds are left out: it does not
#   depend on workspace-hack, and its tests bring dev-dependencies of their own (ratelimit's axum,
#   hyper, redis) that hakari does not walk (.config/hakari.toml's [traversal-excludes]), so that no
#   lesson build compiles them. What a lesson reaches through a library is checked with the lesson.
#
# A library's own feature set may differ between lessons: each lesson asks for the integrations it
# uses (phase3 takes ratelimit's clock alone, phase5's tour its tower layer and Redis backend), as
# two users of the library would, and cargo keeps one build of the library per feature set. That
# costs a second build of the library and of nothing else as long as every crate that depends on it
# is a leaf (a lesson crate no other member depends on); a library with any other dependent is
# compared like every crate. The crates below it are compared in any case: a lesson that enables a
# library's feature depends on what that feature reaches (phase5 on axum and redis), so hakari walks
# them and workspace-hack unifies what they share with every other build (syn, memchr, ...).
#
# The rule, for each crate (name and version) and each pair of commands that build it: the feature
# sets one command builds it with are a subset of the other's. Equal is the usual case; a strict
# subset is a crate built for the host too (a build script's or proc macro's dependency, which
# cargo resolves on its own), which adds a build without replacing one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO=${CARGO:-cargo}
[ $# -gt 0 ] || { echo "usage: LIBRARIES='lib...' $0 PACKAGE..." >&2; exit 2; }

views=$(mktemp)
trap 'rm -f "$views"' EXIT

# One line per crate a command builds: "<command>\t<crate>\t<features>".
view() {
  local label=$1; shift
  "$CARGO" tree -q "$@" --prefix none --format '{p}|{f}' \
    | sed 's/ (\*)$//; s/ (proc-macro)//' \
    | awk -F'|' -v cmd="$label" '{ print cmd "\t" $1 "\t" $2 }' \
    | sort -u >> "$views"
}

is_library() { printf '%s\n' ${LIBRARIES:-} | grep -qxF "$1"; }

# Every member is checked: a crate missing from PACKAGE... (and so from the Makefile's PACKAGES) would
# be neither tested nor checked.
for m in $("$CARGO" tree -q --workspace --depth 0 --prefix none --format '{p}' | awk 'NF { print $1 }' | sort -u); do
  if [ "$m" != workspace-hack ] && ! printf '%s\n' "$@" | grep -qxF "$m"; then
    echo "features-check: workspace member $m is not in the Makefile's PACKAGES: a library goes in" >&2
    echo "  .config/hakari.toml's [final-excludes] workspace-members, a lesson crate in PACKAGES" >&2
    exit 1
  fi
done

for p in "$@"; do
  if ! is_library "$p"; then
    view "cargo test -p $p --all-targets" -p "$p" -e normal,build,dev
    # A lesson crate depends on workspace-hack itself: through another crate it would be lost as soon
    # as that crate drops it.
    if ! "$CARGO" tree -q -p "$p" -e normal --depth 1 --prefix none --format '{p}' | grep -q '^workspace-hack '; then
      echo "features-check: $p does not depend on workspace-hack. Add it as phase1/Cargo.toml does, under" >&2
      echo "  [target.'cfg(not(loom))'.dependencies]; or, if $p is a library, name it in .config/hakari.toml" >&2
      exit 1
    fi
    view "cargo run -p $p" -p "$p" -e normal,build
  fi
done
excludes=()
for l in ${LIBRARIES:-}; do excludes+=(--exclude "$l"); done

# The libraries whose feature sets are left out: every crate that depends on one is a leaf.
dependents() {
  "$CARGO" tree -q --workspace -e normal,build,dev -i "$1" --depth 1 --prefix none --format '{p}' \
    | awk -v self="$1" 'NF && $1 != self { print $1 }' | sort -u
}
free=()
for l in ${LIBRARIES:-}; do
  leaves=1
  for d in $(dependents "$l"); do
    [ -z "$(dependents "$d")" ] || { leaves=0; break; }
  done
  [ "$leaves" = 0 ] || free+=("$l")
done
view "cargo test --workspace --doc ${excludes[*]}" --workspace "${excludes[@]}" -e normal,build,dev

# For every crate and pair of commands that build it: is either one's feature sets a subset of
# the other's? Prints the first pair that is not, for each crate, with both feature sets.
awk -F'\t' -v free="${free[*]}" '
  BEGIN { n_free = split(free, f, " "); for (i = 1; i <= n_free; i++) is_free[f[i]] = 1 }
  { split($2, name, " "); if (name[1] in is_free) next }
  { key = $2 SUBSEP $1
    if (!((key, $3) in has)) { has[key, $3] = 1; sets[key] = sets[key] (sets[key] == "" ? "" : " | ") "[" $3 "]"; n[key]++; list[key, n[key]] = $3 }
    if (!(($2, $1) in seen)) { seen[$2, $1] = 1; ncmd[$2]++; cmd[$2, ncmd[$2]] = $1 } }
  function subset(a, b,   i) { for (i = 1; i <= n[a]; i++) if (!((b, list[a, i]) in has)) return 0; return 1 }
  END {
    bad = 0
    for (crate in ncmd) {
      found = 0
      for (i = 1; i <= ncmd[crate] && !found; i++) for (j = i + 1; j <= ncmd[crate] && !found; j++) {
        a = crate SUBSEP cmd[crate, i]; b = crate SUBSEP cmd[crate, j]
        if (!subset(a, b) && !subset(b, a)) {
          printf "features-check: %s is built with %s by `%s`\n                but with %s by `%s`\n", crate, sets[a], cmd[crate, i], sets[b], cmd[crate, j]
          found = 1; bad++
        }
      }
    }
    exit bad > 0
  }' "$views" || {
  echo "features-check: switching between those commands rebuilds the crate and everything above it." >&2
  echo "  Regenerate workspace-hack: make workspace-hack (cargo install --locked cargo-hakari once)." >&2
  echo "  A library stays out of it: it is named in .config/hakari.toml's [final-excludes]." >&2
  exit 1
}
echo "features-check: $(cut -f2 "$views" | sort -u | wc -l) crates, $(cut -f1 "$views" | sort -u | wc -l) commands: one set of features each (libraries used by lesson crates only, features free: ${free[*]:-none})"
