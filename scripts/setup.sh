#!/usr/bin/env bash
# Installs everything KernelGateway needs on Debian 12: the C libraries and the isolation tools (apt) and a
# project Python venv (.venv) with ipykernel and the test clients. Idempotent, and quick when everything is
# already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything created here (the venv, its kernelspec) must be readable by the unprivileged accounts that
# isolated kernels run as (--kernel-isolation unix-user|sandbox).
umask 022

# bubblewrap: --kernel-isolation sandbox; passwd: useradd/userdel (the isolation tests' throw-away accounts);
# python3-venv: the venv is made from Debian's python3 (see below).
APT_PACKAGES=(libzmq3-dev libssl-dev libhttp-parser-dev libwslay-dev pkg-config bubblewrap python3-venv passwd)
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
for tool in useradd userdel bwrap; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$tool" >/dev/null 2>&1; then
    echo "setup: $tool not found after installing ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
done

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH
  else echo "setup: the Swift 6 toolchain is required (swift not found)" >&2; exit 1; fi
fi

# --- the venv ---------------------------------------------------------------------------------------------
# Kernels of other accounts must be able to run the venv's python, so the venv is built from Debian's
# /usr/bin/python3 (a python3 found first on PATH may live under a 0700 home such as /root/.pyenv), and it
# must lie where every account can reach it: when some directory above the checkout is not traversable by
# others (o+x), the venv goes to /var/tmp/kernel-gateway-venv-<hash of the checkout path> and .venv is a
# symlink to it.
BASE_PYTHON=/usr/bin/python3
[ -x "$BASE_PYTHON" ] || { echo "setup: $BASE_PYTHON is missing (apt-get install python3)" >&2; exit 1; }

traversable_by_others() {  # every directory from / down to $1 has o+x
  local d
  d=$(readlink -f "$1")
  while :; do
    [ -n "$(find "$d" -maxdepth 0 -perm -o=x 2>/dev/null)" ] || return 1
    [ "$d" = / ] && return 0
    d=$(dirname "$d")
  done
}

if traversable_by_others "$PWD"; then
  venv_dir="$PWD/.venv"
  if [ -L .venv ]; then
    echo "setup: the checkout is reachable by every account; replacing the .venv symlink with a local venv"
    rm -f .venv
  fi
else
  venv_dir="/var/tmp/kernel-gateway-venv-$(printf '%s' "$PWD" | sha256sum | cut -c1-12)"
  if [ -e "$venv_dir" ] && [ "$(stat -c %u "$venv_dir")" != "$(id -u)" ]; then
    echo "setup: $venv_dir exists and belongs to someone else; remove it first" >&2
    exit 1
  fi
  if [ "$(readlink .venv 2>/dev/null || true)" != "$venv_dir" ]; then
    echo "setup: $PWD is not reachable by other accounts; the venv lives in $venv_dir (.venv links to it)"
    rm -rf .venv
    ln -s "$venv_dir" .venv
  fi
fi

# An existing venv made from another interpreter (e.g. pyenv's under /root) is rebuilt.
venv_home=""
if [ -f "$venv_dir/pyvenv.cfg" ]; then
  venv_home=$(sed -n 's/^home *= *//p' "$venv_dir/pyvenv.cfg" | head -n1)
fi
if [ ! -x "$venv_dir/bin/python" ] || [ "$venv_home" != "$(dirname "$BASE_PYTHON")" ]; then
  if [ -e "$venv_dir" ]; then
    echo "setup: recreating $venv_dir from $BASE_PYTHON (it was made from '${venv_home:-unknown}')"
    rm -rf "$venv_dir"
  else
    echo "setup: creating $venv_dir from $BASE_PYTHON"
  fi
  "$BASE_PYTHON" -m venv "$venv_dir"
fi
chmod 0755 "$venv_dir"

PY_REQUIREMENTS=scripts/requirements-test.txt
stamp=$venv_dir/.requirements-installed
if [ ! -f "$stamp" ] || ! cmp -s "$PY_REQUIREMENTS" "$stamp"; then
  echo "setup: installing Python test dependencies"
  "$venv_dir/bin/python" -m pip install -q --disable-pip-version-check -r "$PY_REQUIREMENTS"
  cp "$PY_REQUIREMENTS" "$stamp"
fi
# A python3 kernelspec that runs ipykernel from the venv, for tests and for `make run`.
# ipykernel writes argv[0] "python" (jupyter_client swaps in its own interpreter); we are not Python, so the
# spec names the venv's interpreter by absolute path: the venv's real path (not through a .venv symlink), which
# every account can reach and which the sandbox mounts. Rewritten every run: the checkout may have moved.
spec_dir=$venv_dir/share/jupyter/kernels/python3
if [ ! -f "$spec_dir/kernel.json" ]; then
  "$venv_dir/bin/python" -m ipykernel install --prefix "$venv_dir" --name python3 >/dev/null
fi
"$venv_dir/bin/python" - "$spec_dir/kernel.json" "$venv_dir/bin/python" <<'PY'
import json, sys
path, python = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
if spec["argv"][0] != python:
    spec["argv"][0] = python
    json.dump(spec, open(path, "w"), indent=1)
PY
