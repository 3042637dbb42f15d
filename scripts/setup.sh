#!/usr/bin/env bash
# Installs everything KernelGateway needs on Debian 12: the C libraries (apt) and a project-local Python venv
# (.venv) with ipykernel and the test clients. Idempotent, and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libzmq3-dev libssl-dev libhttp-parser-dev libwslay-dev pkg-config)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH
  else echo "setup: the Swift 6 toolchain is required (swift not found)" >&2; exit 1; fi
fi

PY_REQUIREMENTS=scripts/requirements-test.txt
stamp=.venv/.requirements-installed
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || ! cmp -s "$PY_REQUIREMENTS" "$stamp"; then
  echo "setup: installing Python test dependencies"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$PY_REQUIREMENTS"
  cp "$PY_REQUIREMENTS" "$stamp"
fi
# A python3 kernelspec that runs ipykernel from the venv, for tests and for `make run`.
# ipykernel writes argv[0] "python" (jupyter_client swaps in its own interpreter); we are not Python, so the
# spec names the venv's interpreter by absolute path. Rewritten every run: the checkout may have moved.
spec_dir=.venv/share/jupyter/kernels/python3
if [ ! -f "$spec_dir/kernel.json" ]; then
  .venv/bin/python -m ipykernel install --prefix "$PWD/.venv" --name python3 >/dev/null
fi
.venv/bin/python - "$spec_dir/kernel.json" "$PWD/.venv/bin/python" <<'PY'
import json, sys
path, python = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
if spec["argv"][0] != python:
    spec["argv"][0] = python
    json.dump(spec, open(path, "w"), indent=1)
PY
