# golive: the two entry points are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(VENV)/bin/python
GOLIVE := $(VENV)/bin/golive
APT_PACKAGES := podman runc debootstrap uidmap slirp4netns fuse-overlayfs tar openssh-client
SCENARIOS := $(notdir $(patsubst %/,%,$(dir $(wildcard molecule/*/molecule.yml))))
# Platforms (see README, "Which layer proves which platform"): the lab of `make demo` and
# `make e2e` runs PLATFORM (Debian 13 by default; `make e2e PLATFORM=debian12` for the other),
# the Molecule scenarios run MOLECULE_PLATFORM (Debian 12 by default), so every CI run
# converges and verifies every tier on both.
PLATFORM ?= debian13
MOLECULE_PLATFORM ?= debian12
export GOLIVE_LAB_PLATFORM := $(PLATFORM)
export GOLIVE_MOLECULE_PLATFORM := $(MOLECULE_PLATFORM)
# golive's environment (ANSIBLE_CONFIG, collections path, CONTAINERS_CONF) for plain tools
TIMED := tests/scripts/timed
WITH_ENV = eval "$$($(GOLIVE) env)"; export PATH="$(CURDIR)/$(VENV)/bin:$$PATH";

.PHONY: demo test setup packages venv image tools lint unit molecule e2e bench clean lab-down \
        drill-dist-upgrade drill-example

## demo: install what is missing, bring the lab up, converge it, take a first full backup and
## prove it with a restore test, build the sample app and deploy it on web1 and web2, print a
## status summary
demo: setup
	$(TIMED) "lab up ($(PLATFORM))" $(GOLIVE) lab up --platform $(PLATFORM)
	$(TIMED) "converge" $(GOLIVE) converge
	$(TIMED) "backup" $(GOLIVE) backup --type full
	$(TIMED) "restore-test" $(GOLIVE) restore-test
	$(PY) examples/app/build.py --version 1.0.0 --out build/demo
	$(TIMED) "deploy" $(GOLIVE) deploy --artifact build/demo/golive-sample-app-1.0.0.tar.gz
	$(GOLIVE) lab status

## test: static checks, unit tests, the whole-lab idempotence converge alone (4.3 min on 2 cores;
## beside Molecule it took 9), then every Molecule scenario (one at a time)
## beside the rest of the end-to-end run: their containers differ (golive-mol-*, golive-lab-*),
## and one after the other they would not fit CI's 90 minutes on 2 cores. The two e2e runs
## carry their process samples and CLI outputs to test_secrets through E2E_CARRY.
E2E_FIRST := tests/e2e/test_lab_converge.py::test_converge_twice_second_changes_nothing
E2E_CARRY := $(CURDIR)/build/e2e-carry.json
test: setup lint unit
	rm -f $(E2E_CARRY)
	$(MAKE) e2e E2E_TESTS=$(E2E_FIRST) E2E_NAME="e2e idempotence" GOLIVE_E2E_CARRY=$(E2E_CARRY)
	$(MAKE) -j2 molecule e2e MOLECULE_JOBS=1 E2E_ARGS="--deselect $(E2E_FIRST)" \
	  GOLIVE_E2E_CARRY=$(E2E_CARRY)

setup: packages venv image tools

packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

## image: the base images of both platforms, built side by side when missing
image: venv packages
	$(GOLIVE) lab image --platform $(PLATFORM) & p1=$$!; \
	if [ "$(MOLECULE_PLATFORM)" != "$(PLATFORM)" ]; then \
	  $(GOLIVE) lab image --platform $(MOLECULE_PLATFORM); fi; \
	wait $$p1

## tools: promtool and amtool for the alert-rule unit tests, taken out of Debian's packages of
## this machine's release (apt-get download + dpkg-deb -x, no root, no daemon installed or
## started) into the venv's bin
tools: $(VENV)/bin/promtool $(VENV)/bin/amtool

$(VENV)/bin/promtool $(VENV)/bin/amtool: | $(VENV)/.installed
	tests/scripts/fetch-prometheus-tools $(VENV)/bin

lint: venv
	$(VENV)/bin/ruff check src tests plugins examples
	$(VENV)/bin/yamllint -s .
	$(WITH_ENV) $(TIMED) ansible-lint ansible-lint --nocolor

unit: venv tools
	$(TIMED) "unit tests" $(VENV)/bin/pytest -q tests/unit

MOLECULE_JOBS ?= 2
molecule: venv image
	$(WITH_ENV) MOLECULE_JOBS=$(MOLECULE_JOBS) $(TIMED) "molecule ($(MOLECULE_PLATFORM))" \
	  tests/scripts/molecule-all.sh $(SCENARIOS)

E2E_TESTS ?= tests/e2e
E2E_NAME ?= e2e
E2E_ARGS ?=
e2e: venv image
	$(TIMED) "$(E2E_NAME) ($(PLATFORM))" $(VENV)/bin/pytest -q -p no:cacheprovider --durations=15 \
	  $(E2E_ARGS) $(E2E_TESTS)

## bench: wrapper overhead of `golive run`; pgbench direct vs PgBouncer; Redis failover time;
## wall time of `golive check` over the lab; restore test vs raw pgbackrest restore; deploy and
## rollback under load (wall time, failed requests, p50/p99 against idle); a no-op converge of
## the whole lab, per tier and task, with CPU seconds; Prometheus's CPU and memory on mon1 and
## each exporter's scrape duration
## (needs `make demo` first)
bench: venv
	$(PY) tests/bench/runner_overhead.py
	$(PY) tests/bench/db_pooling.py
	$(PY) tests/bench/cache_failover.py
	$(PY) tests/bench/check_wall.py
	$(PY) tests/bench/restore_test.py
	$(PY) tests/bench/deploy.py
	$(PY) tests/bench/converge_noop.py
	$(PY) tests/bench/monitoring.py

## drill-dist-upgrade: a Debian 12 PostgreSQL host dist-upgraded to Debian 13 keeps its 15
## cluster (one throwaway container, about 10 min; not part of `make test`)
drill-dist-upgrade: venv image
	$(VENV)/bin/pytest -q -s -p no:cacheprovider tests/drills/test_dist_upgrade.py

## drill-example: a copy of inventories/example (addresses, SSH user and key changed) converges a
## new lab and deploys the sample app; the lab is removed at the end (about 15 min; not part of
## `make test`)
drill-example: venv image
	$(VENV)/bin/pytest -q -s -p no:cacheprovider tests/drills/test_example_inventory.py

lab-down: venv
	$(GOLIVE) lab down

clean:
	rm -rf build dist *.egg-info src/*.egg-info .pytest_cache .ruff_cache
