# The two entry points the README names: `make run` and `make test`. Both install what they need first.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PORT ?= 8888
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: setup build release run test unit integration bench bench-compare bench-curve clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# echo-kernel is found on PATH (kernelspecs/echo names it by name); python3 comes from the venv's kernelspec.
run: release
	PATH=$(CURDIR)/.build/release:$$PATH JUPYTER_PATH=$(CURDIR)/.venv/share/jupyter \
	  .build/release/kernel-gateway --port $(PORT) --kernelspec-dir $(CURDIR)/kernelspecs

unit: build
	$(SWIFT) test 2>&1 | tee .build/unit-tests.log; exit $${PIPESTATUS[0]}

integration: build
	KG_BUILD_DIR=$(CURDIR)/.build/debug .venv/bin/python -m pytest -q Tests/integration

test: setup
	scripts/test.sh

bench: release
	.build/release/gateway-bench micro

bench-compare:
	scripts/bench-compare.sh

bench-curve:
	scripts/bench-curve.sh

clean:
	rm -rf .build
