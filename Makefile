# Spikard — top-level entry points. Everything goes through CMake + Ninja; the bootstrap step
# installs missing Debian packages first (idempotent, silent when nothing is missing).
#   make          build (release with debug info) into build/
#   make run      start the example app on 127.0.0.1:$(PORT)
#   make test     every test: gcc -Werror build, ASan+UBSan build, clang build, fuzz smoke
#   make bench    load benchmark against nginx (bench/run.sh)
#   make fuzz     long libFuzzer runs (FUZZ_SECONDS per target)
#   make install  install into $(PREFIX)

PORT ?= 8000
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 600
JOBS ?= $(shell nproc)
CMAKE_COMMON = -G Ninja -DSPK_SHARED_DIR=$(abspath ../shared)

.PHONY: all bootstrap-test build run test test-python-asan test-gcc test-asan test-clang fuzz fuzz-smoke bench install clean bootstrap conformance conformance-schema conformance-json

all: build

bootstrap:
	@scripts/bootstrap.sh core

bootstrap-test:
	@scripts/bootstrap.sh test

build: bootstrap
	@cmake -S . -B build $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	./build/spikard-example --port $(PORT)

test: bootstrap-test
	@scripts/test.sh

test-gcc test-asan test-clang fuzz-smoke: bootstrap-test
	@scripts/test.sh $(subst test-,,$@)

# The Python binding's pytest suite against the ASan+UBSan core, LOOPS times in a row (stops at
# the first failure): for races that show once in many runs. `make test-asan` runs it once.
LOOPS ?= 10
test-python-asan: bootstrap-test
	@CC=gcc cmake -S . -B build-asan $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DSPK_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@for i in $$(seq $(LOOPS)); do echo "== run $$i"; \
	  PYTEST_ADDOPTS="-p no:faulthandler" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -R '^python/pytest$$' || exit 1; done

# Fixture conformance (e2e/c/fixture_runner.c), in-process and over loopback:
#   make conformance                the project's testing_data/ (must all pass), then the
#                                   external ../shared suite (measured against e2e/floor.json)
#   make conformance FIXTURES=DIR   any other fixture directory (must all pass)
conformance: build
	@scripts/conformance.sh build $(FIXTURES)

# External JSON suites: JSON-Schema-Test-Suite (one line per draft) and JSONTestSuite.
conformance-schema: build
	@build/tests/json_schema_suite $(abspath ../shared)

conformance-json: build
	@build/tests/json_test_suite $(abspath ../shared)

fuzz: bootstrap-test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh long

bench:
	@scripts/bootstrap.sh bench
	@bench/run.sh

install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-clang build-fuzz
