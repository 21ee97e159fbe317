# openclaw-ops: two entry points.
#   make sandbox   set up this machine, start a sandbox host, deploy the real gateway, print readiness
#   make test      lint, unit tests, integration tests and the Molecule scenarios (what CI runs)
SHELL := /bin/bash
# The default venv: the newest supported ansible-core (pyproject.toml) on the newest Python this machine has that it
# accepts (ansible-core 2.20+ needs Python 3.12+). The oldest-version job (`make oldest`): ansible-core 2.17 on a Python
# it accepts (3.10-3.12).
PYTHON ?= $(shell scripts/find-python.sh 3.13 3.12)
OLDEST_PYTHON ?= $(shell scripts/find-python.sh 3.11 3.12)
OLDEST_ANSIBLE_CORE := 2.17
VENV := $(CURDIR)/.venv
VENV_OLDEST := $(CURDIR)/.venv-oldest
NODE_VERSION := 24.21.0
NPM_VERSION := 11.6.2
OPENCLAW_VERSION := 2026.9.6
OPENCLAW_PREVIOUS_VERSION := 2026.9.5
SANDBOX_HOSTS ?= 1
# parallel pytest workers for `make test` (see the test target)
TEST_WORKERS ?= 3
# pytest workers of `make oldest` (inside `make test` it is one of the suite's tests)
OLDEST_WORKERS ?= 2
export CONTAINERS_CONF := $(CURDIR)/.cache/containers.conf
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: setup venv venv-oldest machine image image-host mirror sandbox sandbox-down test oldest oldest-run lint unit integration molecule bench collection ee clean

# The machine's packages first; then the two venvs (pip) beside the image builds (debootstrap, npm), which need
# neither: on a clean clone the three take about as long together as the images alone.
setup: machine
	$(MAKE) --no-print-directory -j3 --output-sync=line venv venv-oldest image

# A venv made with another Python (an older checkout's, or PYTHON changed) is made again.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "make venv: no Python 3.13 or 3.12 on this machine (set PYTHON=)" >&2; exit 1; }
	v='import sys; print(sys.version_info[:2])'; \
	if [ "$$($(VENV)/bin/python -c "$$v" 2>/dev/null)" != "$$($(PYTHON) -c "$$v")" ]; then rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

# The oldest supported ansible-core, with the ansible package, ansible-lint and Molecule releases pip picks for it.
venv-oldest: $(VENV_OLDEST)/.installed
# after the default venv (order only): both editable installs write openclaw_ops.egg-info in this directory
$(VENV_OLDEST)/.installed: pyproject.toml | $(VENV)/.installed
	@test -n "$(OLDEST_PYTHON)" || { echo "make venv-oldest: no Python 3.11 or 3.12 on this machine (set OLDEST_PYTHON=)" >&2; exit 1; }
	test -x $(VENV_OLDEST)/bin/python || $(OLDEST_PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST)/bin/pip install -q --upgrade pip
	$(VENV_OLDEST)/bin/pip install -q -e '.[test]' 'ansible-core==$(OLDEST_ANSIBLE_CORE).*' 'ansible==10.*'
	touch $@

machine:
	scripts/prepare-machine.sh

# The base test-host image, and primed images with Node.js + openclaw installed (one per version the
# tests deploy), so the 650 MB install runs once per machine; each is cached by a hash of its recipe.
# The two primed images build side by side (make -j), each after the base.
image: image-primed-$(OPENCLAW_VERSION) image-primed-$(OPENCLAW_PREVIOUS_VERSION)

image-host: machine mirror
	scripts/build-host-image.sh

image-primed-%: image-host
	scripts/build-primed-image.sh $*

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
test: machine
	$(MAKE) --no-print-directory -j4 --output-sync=line venv venv-oldest image lint
	pytest -v -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=30 tests/unit tests/integration tests/molecule

# The oldest supported ansible-core (2.17): lint (production profile), a syntax check of every playbook, the unit
# tests, and one real-host scenario (deploy, backup, health over the real gateway on a systemd host). `make test` runs
# it as one test of the suite (tests/integration/test_oldest.py), so it fills a worker beside the long scenarios
# instead of running after them.
oldest: setup
	$(MAKE) --no-print-directory oldest-run

oldest-run:
	PATH=$(VENV_OLDEST)/bin:$$PATH; set -e; ansible --version | head -1; \
	  ansible-lint; \
	  ansible-playbook --syntax-check -i inventories/sandbox $$(ls *.yml | grep -vx execution-environment.yml) >/dev/null; \
	  echo "syntax check: every playbook"; \
	  pytest -q -n $(OLDEST_WORKERS) tests/unit tests/integration/test_cli.py::test_deploy_backup_health_then_health_fails_when_the_gateway_stops

bench: setup
	bench/deploy.sh

# The Ansible collection openclaw.ops (docs/collection.md): the tree in .cache/collection/ansible_collections/openclaw/ops,
# the tarball in .cache/collection/dist/; the repository's own layout stays as it is.
collection: venv
	$(VENV)/bin/python scripts/build-collection.py

# The execution environment image from execution-environment.yml, built here with no registry (scripts/build-ee.sh:
# a local Debian 13 base); tests/integration/test_distribution.py runs health.yml inside it the way AWX does.
ee: venv machine
	scripts/build-ee.sh

clean:
	scripts/sandbox.sh down 4 || true
	rm -rf $(VENV) $(VENV_OLDEST) .cache
