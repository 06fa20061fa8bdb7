# rust-concurrency — every target is a thin wrapper over cargo; `make` alone prints this help.
#
#   make run/phase1/exercise1            run an exercise (all sections)
#   make run/phase1/exercise2 ARGS='select --quick'
#   make list                            the catalog: phase, exercise, topic, sections, built or not
#   make index                           the root README's index of from-scratch types, from catalog.tsv
#   make test                            every test that needs no external service
#   make loom                            the loom models (RUSTFLAGS=--cfg loom, release, own target dir)
#   make smoke                           every exercise binary with --quick
#   make record [ONLY=phase1/exercise2]  every exercise with its defaults -> phaseN/recorded/exerciseM.txt (minutes; not in CI)
#   make bench                           every criterion bench (long; BENCH_ARGS='--measurement-time 3' shortens it)
#   make bench-report                    ours vs best peer ratio table from criterion's estimates -> BENCHMARKS.md
#   make lint                            rustfmt check + clippy -D warnings
#   make miri                            the unsafe-heavy tests under Miri (nightly, several seeds)
#   make sanitize                        the lock-free and executor tests under ThreadSanitizer and AddressSanitizer
#   make mutants [FILE=path]             cargo mutants over the protocol cores (not in CI; MUTANTS_BUDGET s a file)
#   make bench-check                     bench-report --check: exit 1 when a measured target is missed
#   make doc                             the API docs of every library of the workspace (warnings are errors)
#   make deps-check                      a library's normal dependencies hold no harness, CLI or lesson crate
#   make features-check                  make run, make test and every phase build shared crates with the same features
#   make workspace-hack                  regenerate workspace-hack/ after a dependency change (needs cargo-hakari)
#   make attempt KIND=channel NAME=mine  your own channel (or lock, queue, pool) in attempts/mine, from a naive one that works
#   make review NAME=mine [ARGS=--json]  review it: its flaws named, what passed, ratios vs ours and crossbeam
#   make ci                              what .ci/run calls: lint, deps-check, features-check, doc, test, loom, smoke, miri, sanitize

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
ARGS ?=
PHASES := phase1 phase2 phase3 phase4 phase5
# Loom's own target directory: --cfg loom changes every crate's flags, sharing one dir would rebuild
# the whole workspace back and forth.
LOOM_TARGET ?= target/loom
LOOM_MAX_PREEMPTIONS ?= 2

.DEFAULT_GOAL := help
# attempt and review are not files (attempts/<name> and review/ are).
.PHONY: attempt review help list test loom smoke record bench bench-report bench-check lint fmt doc deps-check features-check workspace-hack miri sanitize mutants ci

help:
	@sed -n '2,/^$$/p' Makefile | sed -n 's/^# \{0,1\}//p'

run/%:
	@phase=$$(echo '$*' | cut -d/ -f1); ex=$$(echo '$*' | cut -d/ -f2); \
	if [ ! -f "$$phase/src/bin/$$ex.rs" ]; then \
	  echo "error: no exercise '$*' (built so far: $$(ls phase*/src/bin/*.rs 2>/dev/null | sed -E 's#/src/bin/#/#; s#\.rs$$##' | tr '\n' ' '))" >&2; \
	  echo "       'make list' prints the whole catalog." >&2; exit 2; fi; \
	$(CARGO) run --quiet -p $$phase --bin $$ex -- $(ARGS)

# Review mode (review/README.md): a reader's attempt lives in attempts/NAME, a cargo workspace of its
# own built into target/attempts, so nothing here (test, lint, hakari) sees it.
KIND ?=
NAME ?=
attempt:
	@review/attempt.sh '$(KIND)' '$(NAME)'

review:
	@CARGO='$(CARGO)' review/review.sh '$(NAME)' $(ARGS)

list:
	@printf '%-7s %-10s %-8s %-48s %s\n' PHASE EXERCISE STATUS TOPIC SECTIONS
	@tail -n +2 catalog.tsv | while IFS=$$'\t' read -r phase ex topic sections module; do \
	  if [ -f "$$phase/src/bin/$$ex.rs" ]; then status=built; else status=planned; fi; \
	  printf '%-7s %-10s %-8s %-48s %s\n' "$$phase" "$$ex" "$$status" "$$topic" "$$sections"; done

# The root README's index (between its index markers) from catalog.tsv's module column: FILE:Type,…
# per exercise. Refuses to write when an entry's file is missing or does not define the type; the
# harness test readme_index fails when the README's index is stale or an entry does not resolve.
.PHONY: index
index:
	$(CARGO) run --quiet -p harness --bin readme-index

# One package at a time: every phase has binaries named exercise1…, and cargo puts a workspace-wide build's
# binaries side by side in target/debug, where phase2's exercise1 would replace phase1's before phase1's
# smoke test runs it (cargo's "output filename collision", rust-lang/cargo#6313). `cargo run -p` is not
# affected: it relinks the package's own binary before running it.
# The libraries: what someone may depend on for real work (deps-check holds them to it). Named in one
# place, .config/hakari.toml's [final-excludes] workspace-members: they do not depend on workspace-hack.
LIBRARIES := $(strip $(shell awk '/^\[/ { in_section = ($$0 == "[final-excludes]") } in_section && /^workspace-members *=/' .config/hakari.toml | sed 's/^[^[]*\[//; s/\].*//; s/[",]/ /g'))
ifeq ($(strip $(LIBRARIES)),)
$(error no library read from .config/hakari.toml's [final-excludes] workspace-members = ["shim", ...])
endif
PACKAGES := $(LIBRARIES) harness benchkit $(PHASES) review

# A library's integrations sit behind features (ratelimit: cli, async, redis, redis-async, tower, axum),
# so each such library is tested once more with all of them: its lib, bins, tests and doc tests (the
# Redis tests start a redis-server; without one they are skipped loudly, a failure under
# REQUIRE_REDIS=1 as in .ci/run).
FEATURED_LIBRARIES := ratelimit tinykube
test:
	@for p in $(PACKAGES); do \
	  echo "== cargo test -p $$p"; \
	  $(CARGO) test -p $$p --all-targets || exit 1; \
	done
	@for p in $(FEATURED_LIBRARIES); do \
	  echo "== cargo test -p $$p --all-features"; \
	  $(CARGO) test -p $$p --all-features || exit 1; \
	done
	$(CARGO) test --workspace --doc $(foreach l,$(LIBRARIES),--exclude $(l))
	@for l in $(LIBRARIES); do echo "== cargo test -p $$l --doc"; $(CARGO) test -p $$l --doc || exit 1; done

# package:directory of every crate that may have loom models (phase 5's libraries live below phase5/).
LOOM_CRATES := $(foreach p,$(PHASES),$(p):$(p)) workpool:phase5/workpool ratelimit:phase5/ratelimit
loom:
	@for pd in $(LOOM_CRATES); do p=$${pd%%:*}; d=$${pd#*:}; \
	  if ls $$d/tests/loom_*.rs >/dev/null 2>&1; then \
	    echo "== loom models of $$p"; \
	    RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=$(LOOM_MAX_PREEMPTIONS) CARGO_TARGET_DIR=$(LOOM_TARGET) \
	      $(CARGO) test --release -p $$p --test 'loom_*' || exit 1; \
	  fi; \
	done

# Each package is built on its own before the timed loop: `cargo run -p phaseN` resolves features for
# that package alone, so a workspace-wide build leaves it a rebuild of up to a minute on 2 cores, which
# would count against the 60 s each exercise is given (a CI run was killed that way mid-exercise).
smoke:
	@for p in $(PHASES); do \
	  if ls $$p/src/bin/*.rs >/dev/null 2>&1; then $(CARGO) build --quiet -p $$p --bins || exit 1; fi; \
	done
	@for f in phase*/src/bin/*.rs; do \
	  phase=$${f%%/*}; ex=$$(basename $$f .rs); \
	  echo "== $$phase/$$ex --quick"; \
	  start=$$(date +%s); \
	  rc=0; timeout 60 $(CARGO) run --quiet -p $$phase --bin $$ex -- --quick > target/smoke-$$phase-$$ex.log 2>&1 || rc=$$?; \
	  if [ $$rc -ne 0 ]; then \
	    if [ $$rc -eq 124 ]; then why="killed after 60 s"; else why="exit $$rc"; fi; \
	    echo "FAILED: $$phase/$$ex --quick ($$why, log below)"; cat target/smoke-$$phase-$$ex.log; exit 1; \
	  fi; \
	  echo "   ok in $$(( $$(date +%s) - start )) s"; \
	done

# The recorded runs the READMEs point at: each exercise with its defaults, its whole output under a
# header (machine, load, rustc, date, command, commit) in phaseN/recorded/exerciseM.txt. Generated, never
# edited by hand. Builds first, kills an exercise after RECORD_TIMEOUT s, exits 1 if one failed.
ONLY ?=
RECORD_TIMEOUT ?= 120
record:
	CARGO='$(CARGO)' RECORD_TIMEOUT=$(RECORD_TIMEOUT) tests/record.sh $(ONLY)

# `--bench '*'`: only the criterion targets, so BENCH_ARGS reaches criterion (the libraries' libtest
# harness rejects criterion's flags).
BENCH_ARGS ?=
bench:
	$(CARGO) bench --workspace --bench '*' -- $(BENCH_ARGS)

bench-report:
	$(CARGO) run --quiet --release -p benchkit --bin bench-report -- --criterion-dir target/criterion --out BENCHMARKS.md

bench-check:
	$(CARGO) run --quiet --release -p benchkit --bin bench-report -- --criterion-dir target/criterion --out - --check > /dev/null

# Miri runs the tests of the unsafe-heavy code listed in tests/miri.txt (sizes shrink under cfg(miri);
# a line may add MIRIFLAGS, e.g. several scheduler seeds, each with its reason). Own target dir.
miri:
	tests/verify.sh miri

# ThreadSanitizer, then AddressSanitizer, over tests/sanitize.txt, on nightly with the standard library
# rebuilt instrumented (-Zbuild-std). Suppressions: tests/tsan.supp, each with its reason.
sanitize:
	tests/verify.sh sanitize thread
	tests/verify.sh sanitize address

# cargo mutants over the protocol cores of tests/mutants.txt, MUTANTS_BUDGET seconds at most per file
# (FILE=path runs one). Not in CI: too slow on 2 cores. Results: target/mutants/<file>/mutants.out.
FILE ?=
mutants:
	tests/verify.sh mutants $(FILE)

# A library's normal (non-dev) dependency tree must not hold what only the lessons, the harness, the
# benches or a CLI need. `shim` must hold nothing at all: it is the crate every other one may use.
DEPS_FORBIDDEN := harness benchkit phase1 phase2 phase3 phase4 phase5 workspace-hack clap comfy-table indicatif criterion proptest loom
deps-check:
	@for lib in $(LIBRARIES); do \
	  deps=$$($(CARGO) tree -q -p $$lib -e normal --prefix none --format '{p}' | awk '{print $$1}' | sort -u | grep -vx "$$lib" || true); \
	  bad=$$(echo "$$deps" | grep -xF -f <(printf '%s\n' $(DEPS_FORBIDDEN)) || true); \
	  if [ -n "$$bad" ]; then echo "deps-check: $$lib depends on $$(echo $$bad | tr '\n' ' ')(cargo tree -p $$lib -e normal -i NAME shows the path)" >&2; exit 1; fi; \
	  if [ "$$lib" = shim ] && [ -n "$$deps" ]; then echo "deps-check: shim must have no dependencies, has: $$(echo $$deps | tr '\n' ' ')" >&2; exit 1; fi; \
	  echo "deps-check: $$lib ok ($$(echo $$deps | wc -w) normal dependencies)"; \
	done

# Every cargo command these targets issue (run, smoke, test of any package, the doc tests) builds each
# shared crate with the same features, so switching between them rebuilds only the package that
# changed. workspace-hack/ makes it so; this checks it with cargo tree (nothing to install). A failure
# names the crate and two commands that disagree.
features-check:
	LIBRARIES='$(LIBRARIES)' CARGO='$(CARGO)' tests/features-check.sh $(PACKAGES)

# After adding or changing a dependency, or a lesson crate: cargo hakari rewrites workspace-hack's
# dependency list and adds it to new crates (`cargo install --locked cargo-hakari` once). A new lesson
# crate's line belongs under [target.'cfg(not(loom))'.dependencies], as in phase1/Cargo.toml.
workspace-hack:
	$(CARGO) hakari generate
	$(CARGO) hakari manage-deps --yes
	$(CARGO) hakari verify

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --lib
	@for p in $(FEATURED_LIBRARIES); do RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p $$p --no-deps --lib --all-features || exit 1; done

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@for p in $(FEATURED_LIBRARIES); do $(CARGO) clippy -p $$p --all-targets --all-features -- -D warnings || exit 1; done

# No `cargo bench --no-run`: lint's clippy --all-targets already compiles every bench target, and a
# release build of the whole workspace for nothing else cost CI about six minutes.
ci: lint deps-check features-check doc test loom smoke miri sanitize
