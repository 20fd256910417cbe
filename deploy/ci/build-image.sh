#!/usr/bin/env bash
# CI only: build the image from this checkout with podman, offline from any registry.
#
#   deploy/ci/build-image.sh [TAG]                (default digituki:ci)
#   deploy/ci/build-image.sh --environment        only the slow first stage (the Python
#                                                 environment, ~3 GB from PyPI), to cache it
#
# Sets podman up (deploy/ci/podman-setup.sh), makes the base image stand-in
# (deploy/ci/base-image.sh), then builds the Containerfile as a user would, with
# --pull=never, the machine's CA bundle for pip (this machine reaches PyPI through a
# proxy of its own) and the model `make test` trained (models/, when current). Prints
# the build time and the image size.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=()
if [ "${1:-}" = "--environment" ]; then
  target=(--target environment); shift
fi
TAG="${1:-digituki:ci}"
[ "${#target[@]}" -eq 0 ] || TAG="$TAG-environment"
bash deploy/ci/podman-setup.sh >/dev/null
bash deploy/ci/base-image.sh
model="$(.venv/bin/python -c 'from bot.training import fingerprint; print(fingerprint())')"
ca=/etc/ssl/certs/ca-certificates.crt
started=$(date +%s)
podman build --pull=never --layers "${target[@]}" -f Containerfile -t "$TAG" \
  --build-arg "MODEL_FINGERPRINT=$model" \
  -v "$ca:$ca:ro" --env "PIP_CERT=$ca" --env "REQUESTS_CA_BUNDLE=$ca" \
  . >"${BUILD_LOG:-/tmp/digituki-image-build.log}" 2>&1 || {
    tail -40 "${BUILD_LOG:-/tmp/digituki-image-build.log}" >&2; exit 1; }
seconds=$(( $(date +%s) - started ))
bytes="$(podman image inspect "$TAG" --format '{{.Size}}')"
echo "image $TAG: built in ${seconds} s, $(( bytes / 1000000 )) MB, model digituki-$model"
