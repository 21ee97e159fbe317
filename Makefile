# openclaw-ops: two entry points.
#   make sandbox   set up this machine, start a sandbox host, deploy the real gateway, print readiness
#   make test      lint, unit tests, integration tests and the Molecule scenarios (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
NODE_VERSION := 24.21.0
NPM_VERSION := 11.6.2
OPENCLAW_VERSION := 2026.9.6
OPENCLAW_PREVIOUS_VERSION := 2026.9.5
SANDBOX_HOSTS ?= 1
# parallel pytest workers for `make test` (see the test target)
TEST_WORKERS ?= 3
export CONTAINERS_CONF := $(CURDIR)/.cache/containers.conf
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: setup venv machine image mirror sandbox sandbox-down test lint unit integration molecule bench collection clean

setup: venv machine image mirror

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

machine:
	scripts/prepare-machine.sh

# The base test-host image, and primed images with Node.js + openclaw installed (one per version the
# tests deploy), so the 650 MB install runs once per machine; each is cached by a hash of its recipe.
image: machine mirror
	scripts/build-host-image.sh
	scripts/build-primed-image.sh $(OPENCLAW_VERSION)
	scripts/build-primed-image.sh $(OPENCLAW_PREVIOUS_VERSION)

mirror:
	scripts/build-node-mirror.sh $(CURDIR)/.cache/node-mirror $(NODE_VERSION) $(NPM_VERSION)
	mkdir -p $(CURDIR)/.cache/npm

sandbox: setup
	scripts/sandbox.sh up $(SANDBOX_HOSTS)
	ansible-playbook deploy.yml -i inventories/sandbox
	ansible -i inventories/sandbox openclaw -m openclaw_health -a 'expect_version=2026.9.6'

sandbox-down:
	scripts/sandbox.sh down $(SANDBOX_HOSTS)

lint: venv
	ansible-lint
	yamllint -s .
	ruff check .

unit: venv
	pytest -q tests/unit

integration: setup
	pytest -q tests/integration

molecule: setup
	pytest -q tests/molecule

# Lint first (fast), then every pytest suite in one run so CI reads one closing line. The suites run on
# TEST_WORKERS pytest-xdist workers: most of a real-host test is waiting on systemd, podman and gateway
# start-ups, so three streams share the two cores well; tests that share a host stay on one worker
# (tests/conftest.py), and --no-loadscope-reorder keeps conftest's longest-first order (xdist would otherwise
# start the groups with the most tests, i.e. the fast unit tests). --durations prints the slowest tests.
test: setup lint
	pytest -v -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=30 tests/unit tests/integration tests/molecule

bench: setup
	bench/deploy.sh

# The Ansible collection openclaw.ops (docs/collection.md): the tree in .cache/collection/ansible_collections/openclaw/ops,
# the tarball in .cache/collection/dist/; the repository's own layout stays as it is.
collection: venv
	$(VENV)/bin/python scripts/build-collection.py

clean:
	scripts/sandbox.sh down 4 || true
	rm -rf $(VENV) .cache
