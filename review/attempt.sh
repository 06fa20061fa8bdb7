#!/usr/bin/env bash
# make attempt KIND=<kind> NAME=<name>: a crate for your own implementation of KIND in attempts/NAME,
# from review/templates/KIND. Bad input lists the valid values and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:-}
NAME=${2:-}
kinds=$(cd review/templates && ls -d */ | tr -d / | tr '\n' ' ')
if [ -z "$KIND" ] || [ ! -d "review/templates/$KIND" ]; then
  echo "make attempt: unknown KIND '$KIND'; valid: $kinds(deque, timer queue, rate limiter and commit tracker are planned)" >&2
  echo "usage: make attempt KIND=channel NAME=mine" >&2
  exit 2
fi
if ! [[ "$NAME" =~ ^[a-z][a-z0-9_]{0,39}$ ]]; then
  echo "make attempt: NAME '$NAME' is not valid: lowercase letters, digits and _, starting with a letter (it becomes a crate name)" >&2
  exit 2
fi
case "$NAME" in
  review|harness|shim|std|core|alloc|test|proc_macro|target)
    echo "make attempt: NAME '$NAME' is taken (a crate the attempt depends on, or a reserved name); pick another" >&2
    exit 2 ;;
esac
if [ -e "attempts/$NAME" ]; then
  echo "make attempt: attempts/$NAME already exists; 'make review NAME=$NAME' reviews it, or pick another NAME" >&2
  exit 2
fi
dir="attempts/$NAME"
mkdir -p "$dir/src/bin"
fill() { sed -e "s/{{name}}/$NAME/g" -e "s/{{crate}}/$NAME/g" "$1" > "$2"; }
t="review/templates/$KIND"
# One manifest for every kind: the same three path dependencies.
fill review/templates/Cargo.toml.in "$dir/Cargo.toml"
fill "$t/README.md" "$dir/README.md"
fill "$t/src/bin/review.rs" "$dir/src/bin/review.rs"
# The template is also compiled into the review crate (its clean review is a test), so it is copied
# as it is, but for the name the review prints.
sed -e 's/const NAME: &'"'"'static str = "naive template";/const NAME: \&'"'"'static str = "'"$NAME"'";/' "$t/src/lib.rs" > "$dir/src/lib.rs"
# The repository's lock file: the attempt resolves to the versions the repository was tested with.
cp Cargo.lock "$dir/Cargo.lock"
echo "$KIND" > "$dir/.review-kind"
echo "created $dir (kind: $KIND), a naive $KIND that works:"
echo "  edit   $dir/src/lib.rs"
echo "  then   make review NAME=$NAME"
