# The Lambda package, built by `sam build` (BuildMethod: makefile, in source).
#
# SAM calls `make build-<LogicalId>` with ARTIFACTS_DIR set, from this folder
# (samconfig.toml sets build_in_source, so SAM does not first copy the whole
# checkout, .venv and node_modules included, to a scratch folder).
#
# - The functions' code: only functions/, templates/, content/ and translations/ (no tests,
#   docs, var/, site/, caches).
# - The dependencies layer: requirements-lambda.txt as Linux arm64 CPython 3.12
#   wheels, whatever this machine's Python and CPU are (binary wheels only:
#   nothing is compiled here, so the package matches the Lambda runtime).
# - Both precompiled to bytecode for Python 3.12 (unchecked-hash .pyc files,
#   valid whatever the files' times): Lambda's disk is read-only, so without
#   them every cold start compiles every module again (about +0.7 s of CPU).
#   Needs a python3.12 here (pyenv's is used when installed); without one the
#   package is still correct, only slower to start, and the build says so.

PYTHON ?= python3
LAMBDA_PYTHON := 3.12
LAMBDA_PLATFORMS := manylinux2014_aarch64 manylinux_2_28_aarch64
CODE := functions templates content translations
# A Python 3.12 to compile with: pyenv's 3.12.x when pyenv has one, else python3.12.
PY312 := $(shell v=$$(pyenv versions --bare 2>/dev/null | grep '^3\.12' | tail -1); \
	if [ -n "$$v" ]; then echo "env PYENV_VERSION=$$v python3.12"; \
	elif command -v python3.12 >/dev/null; then echo python3.12; fi)
COMPILE = $(if $(PY312),$(PY312) -m compileall -q -j 0 --invalidation-mode unchecked-hash,\
	echo "warning: no python3.12 to precompile with; Lambda will compile at each cold start:")

.PHONY: build-ApiFunction build-RenderFunction build-FanoutFunction build-BuildFunction build-ExportFunction build-DependenciesLayer

build-ApiFunction build-RenderFunction build-FanoutFunction build-BuildFunction build-ExportFunction:
	mkdir -p "$(ARTIFACTS_DIR)"
	tar --create --exclude=__pycache__ --exclude='*.pyc' $(CODE) | tar --extract --directory "$(ARTIFACTS_DIR)"
	$(COMPILE) "$(ARTIFACTS_DIR)/functions"

build-DependenciesLayer:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
		$(LAMBDA_PLATFORMS:%=--platform %) --implementation cp --python-version $(LAMBDA_PYTHON) \
		--only-binary=:all: --target "$(ARTIFACTS_DIR)/python" -r requirements-lambda.txt
	rm -rf "$(ARTIFACTS_DIR)"/python/bin
	$(COMPILE) "$(ARTIFACTS_DIR)/python"
