#!/usr/bin/env bash
# The whole test suite: Swift unit tests (Swift Testing) and the Python integration tests that drive the real
# binaries with real kernels over loopback. `make test` and `.ci/run` both run this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
scripts/setup.sh
swift build --build-tests
# Serial: the real-kernel tests count child processes and descriptors of the test process, which tests running
# in parallel would disturb; serial, the whole Swift suite still takes about 15 s.
swift test --skip-build --no-parallel
status=0
KG_BUILD_DIR="$PWD/.build/debug" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/integration || status=$?
# pytest's 5 means "no tests collected": that would be a broken suite, not a pass.
exit $status
