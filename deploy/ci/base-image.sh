#!/usr/bin/env bash
# CI only: a local stand-in for the python:3.10-slim-bookworm image, for machines that
# reach Debian's and PyPI's mirrors but no container registry. Debian bookworm (minbase,
# from mmdebstrap) with this machine's Python 3.10 in /usr/local, as the official image
# has it. Users build FROM the real image; nothing here is part of their path.
#
#   deploy/ci/base-image.sh [PYTHON_HOME]     (default: the Python 3.10 of .venv)
set -euo pipefail
cd "$(dirname "$0")/../.."

TAG=docker.io/library/python:3.10-slim-bookworm
if podman image exists "$TAG"; then
  echo "base image: $TAG is there"
  exit 0
fi
PYTHON_HOME="${1:-$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')}"
[ -x "$PYTHON_HOME/bin/python3.10" ] || { echo "no python3.10 in $PYTHON_HOME" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The libraries CPython's extension modules link against (ssl, sqlite3, ctypes, ...).
mmdebstrap --variant=minbase --quiet \
  --include=ca-certificates,libssl3,libsqlite3-0,libffi8,zlib1g,libbz2-1.0,liblzma5,libreadline8,libncursesw6,libgdbm6,libuuid1,libexpat1 \
  --customize-hook="tar -C '$PYTHON_HOME' --exclude='*.pth' --exclude=__pycache__ --exclude=./lib/python3.10/test --exclude=./lib/python3.10/idlelib --exclude=./lib/python3.10/tkinter -c . | tar -C \"\$1/usr/local\" -x" \
  --customize-hook='chroot "$1" ldconfig' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar"
podman import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$work/rootfs.tar" "$TAG" >/dev/null
podman run --rm --pull=never "$TAG" python3 -c 'import ssl, sqlite3, ctypes, venv; print("base image:", __import__("sys").version.split()[0])'
