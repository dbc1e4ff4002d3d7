# The Lambda package, built by `sam build` (BuildMethod: makefile, in source).
#
# SAM calls `make build-<LogicalId>` with ARTIFACTS_DIR set, from this folder
# (samconfig.toml sets build_in_source, so SAM does not first copy the whole
# checkout, .venv and node_modules included, to a scratch folder).
#
# - The functions' code: only functions/, templates/ and content/ (no tests,
#   docs, var/, site/, caches).
# - The dependencies layer: requirements-lambda.txt as Linux arm64 CPython 3.12
#   wheels, whatever this machine's Python and CPU are (binary wheels only:
#   nothing is compiled here, so the package matches the Lambda runtime).

PYTHON ?= python3
LAMBDA_PYTHON := 3.12
LAMBDA_PLATFORMS := manylinux2014_aarch64 manylinux_2_28_aarch64
CODE := functions templates content

.PHONY: build-ApiFunction build-RenderFunction build-DependenciesLayer

build-ApiFunction build-RenderFunction:
	mkdir -p "$(ARTIFACTS_DIR)"
	tar --create --exclude=__pycache__ --exclude='*.pyc' $(CODE) | tar --extract --directory "$(ARTIFACTS_DIR)"

build-DependenciesLayer:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile \
		$(LAMBDA_PLATFORMS:%=--platform %) --implementation cp --python-version $(LAMBDA_PYTHON) \
		--only-binary=:all: --target "$(ARTIFACTS_DIR)/python" -r requirements-lambda.txt
	rm -rf "$(ARTIFACTS_DIR)"/python/bin
