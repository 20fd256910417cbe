#!/usr/bin/env bash
# CI only: podman, buildah, mmdebstrap and HAProxy from Debian, and the podman settings
# this kind of machine needs (runc with cgroupfs; open-file and process limits below the
# machine's hard limits, which a container may not raise).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(podman buildah mmdebstrap uidmap fuse-overlayfs slirp4netns runc podman-compose haproxy)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
conf=/etc/containers/containers.conf
if ! grep -q 'cgroup_manager = "cgroupfs"' "$conf" 2>/dev/null; then
  files=$(ulimit -Hn); processes=$(ulimit -Hu)
  [ "$files" = unlimited ] && files=1048576
  [ "$processes" = unlimited ] && processes=1048576
  files=$(( files < 16384 ? files : 16384 )); processes=$(( processes < 8192 ? processes : 8192 ))
  mkdir -p /etc/containers
  cat >"$conf" <<CONF
[containers]
default_ulimits = ["nofile=${files}:${files}", "nproc=${processes}:${processes}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}'
