# The two commands: `make demo` and `make test`. Both install what they need:
# the pinned moto emulator in .venv and the Rust crates (cargo fetches them).

VENV   := .venv
PYTHON ?= python3
CARGO  ?= cargo
STAMP  := $(VENV)/.installed-$(shell sha256sum tests/requirements-moto.txt | cut -c1-12)
LINT_VENV  := .venv-lint
LINT_STAMP := $(LINT_VENV)/.installed-$(shell sha256sum deploy/requirements-lint.txt | cut -c1-12)

.PHONY: test lint demo bench bench-plan fmt crds clean-venv image test-image

$(STAMP): tests/requirements-moto.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.9+ (Debian: apt-get install python3 python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-moto.txt
	rm -f $(VENV)/.installed-*
	touch $@

test: $(STAMP)
	$(CARGO) test --all-targets

$(LINT_STAMP): deploy/requirements-lint.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.9+ (Debian: apt-get install python3 python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check -r deploy/requirements-lint.txt
	rm -f $(LINT_VENV)/.installed-*
	touch $@

lint: $(LINT_STAMP)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(LINT_VENV)/bin/cfn-lint deploy/cloudformation.yaml

fmt:
	$(CARGO) fmt --all

crds:
	$(CARGO) run --quiet -- crds --out crds/

# Benchmarks (not part of `make test`): BENCH_SIZES=100,500,1000 by default.
bench: $(STAMP)
	$(CARGO) test --test estate_bench

# plan() over 13,006 resources and its phases (divan, bench profile).
bench-plan:
	$(CARGO) bench --bench plan

# The operator's image with podman (installed when missing, as root), on a base
# assembled from Debian packages where no registry can be reached (deploy/image/).
image:
	CARGO=$(CARGO) deploy/image/build.sh

# The image run as its task definition runs it, against moto (tests/image.rs).
test-image: $(STAMP) image
	$(CARGO) test --test image -- --nocapture

demo: $(STAMP)
	$(CARGO) build --bins --example deploy-sim
	CARGO=$(CARGO) ./examples/demo.sh

clean-venv:
	rm -rf $(VENV)
