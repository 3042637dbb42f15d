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
# The whole integration suite with kernels running as the gateway's user (--kernel-isolation none); as root it
# includes test_isolation.py, which attacks unix-user and sandbox isolation on its own gateways.
KG_BUILD_DIR="$PWD/.build/debug" .venv/bin/python -m pytest -q -p no:cacheprovider Tests/integration || status=$?
# Then the suites whose gateways start kernels for several users (authorization) and bridge channels again, with
# every kernel running as a throw-away account per gateway user (conftest.py creates and removes them), plain
# and in bubblewrap: about 30 s per mode. The guard test checks that those gateways really run in the mode.
# test_echo_kernel.py (20 s) is not repeated: it starts no gateway, so isolation changes nothing there.
ISOLATED_SUITES=(Tests/integration/test_authz_*.py Tests/integration/test_channels.py Tests/integration/test_limits.py
                 Tests/integration/test_isolation.py::test_suite_gateways_use_the_requested_isolation)
for mode in unix-user sandbox; do
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: integration suites with KG_TEST_ISOLATION=$mode (kernel isolation needs root; running as uid $(id -u))"
    continue
  fi
  echo "integration suites with KG_TEST_ISOLATION=$mode"
  KG_TEST_ISOLATION=$mode KG_BUILD_DIR="$PWD/.build/debug" \
    .venv/bin/python -m pytest -q -p no:cacheprovider "${ISOLATED_SUITES[@]}" || { rc=$?; [ $status -ne 0 ] || status=$rc; }
done
# pytest's 5 means "no tests collected": that would be a broken suite, not a pass.
exit $status
