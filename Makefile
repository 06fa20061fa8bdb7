# rust-concurrency — every target is a thin wrapper over cargo; `make` alone prints this help.
#
#   make run/phase1/exercise1            run an exercise (all sections)
#   make run/phase1/exercise2 ARGS='select --quick'
#   make list                            the catalog: phase, exercise, topic, sections, built or not
#   make test                            every test that needs no external service
#   make loom                            the loom models (RUSTFLAGS=--cfg loom, release, own target dir)
#   make smoke                           every exercise binary with --quick
#   make bench                           every criterion bench (long; BENCH_ARGS='--measurement-time 3' shortens it)
#   make bench-report                    ours vs best peer ratio table from criterion's estimates -> BENCHMARKS.md
#   make lint                            rustfmt check + clippy -D warnings
#   make ci                              what .ci/run calls: lint, test, loom, smoke, bench --no-run

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
.PHONY: help list test loom smoke bench bench-report lint fmt ci

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'

run/%:
	@phase=$$(echo '$*' | cut -d/ -f1); ex=$$(echo '$*' | cut -d/ -f2); \
	if [ ! -f "$$phase/src/bin/$$ex.rs" ]; then \
	  echo "error: no exercise '$*' (built so far: $$(ls phase*/src/bin/*.rs 2>/dev/null | sed -E 's#/src/bin/#/#; s#\.rs$$##' | tr '\n' ' '))" >&2; \
	  echo "       'make list' prints the whole catalog." >&2; exit 2; fi; \
	$(CARGO) run --quiet -p $$phase --bin $$ex -- $(ARGS)

list:
	@printf '%-7s %-10s %-8s %-48s %s\n' PHASE EXERCISE STATUS TOPIC SECTIONS
	@tail -n +2 catalog.tsv | while IFS=$$'\t' read -r phase ex topic sections; do \
	  if [ -f "$$phase/src/bin/$$ex.rs" ]; then status=built; else status=planned; fi; \
	  printf '%-7s %-10s %-8s %-48s %s\n' "$$phase" "$$ex" "$$status" "$$topic" "$$sections"; done

# One package at a time: every phase has binaries named exercise1…, and cargo puts a workspace-wide build's
# binaries side by side in target/debug, where phase2's exercise1 would replace phase1's before phase1's
# smoke test runs it (cargo's "output filename collision", rust-lang/cargo#6313). `cargo run -p` is not
# affected: it relinks the package's own binary before running it.
PACKAGES := harness benchkit $(PHASES)

test:
	@for p in $(PACKAGES); do \
	  echo "== cargo test -p $$p"; \
	  $(CARGO) test -p $$p --all-targets || exit 1; \
	done
	$(CARGO) test --workspace --doc

loom:
	@for p in $(PHASES); do \
	  if ls $$p/tests/loom_*.rs >/dev/null 2>&1; then \
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

# `--bench '*'`: only the criterion targets, so BENCH_ARGS reaches criterion (the libraries' libtest
# harness rejects criterion's flags).
BENCH_ARGS ?=
bench:
	$(CARGO) bench --workspace --bench '*' -- $(BENCH_ARGS)

bench-report:
	$(CARGO) run --quiet --release -p benchkit --bin bench-report -- --criterion-dir target/criterion --out BENCHMARKS.md

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

ci: lint test loom smoke
	$(CARGO) bench --workspace --no-run
