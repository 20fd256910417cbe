#!/usr/bin/env bash
# CI only: play the dev overlay of deploy/kubernetes with `podman kube play` and check that
# every role comes up ready, as far as podman can play Kubernetes.
#
#   deploy/ci/kube-smoke.sh [--render-only DIR]
#
# Needs the image localhost/digituki:ci (deploy/ci/build-image.sh) and the service images
# of deploy/ci/service-images.sh (made when missing). Podman 4.3 plays Pods, Deployments
# and ConfigMaps only, and has no Services, so the rendered overlay is adapted first (in
# Python, printed with --render-only):
#
#   - the Secret becomes a podman secret of the same name (podman 4.3's secretKeyRef reads
#     a JSON object of base64 values: the Secret's `data`);
#   - the Services' names in the ConfigMap become the pods' names (podman's DNS knows
#     `<deployment>-pod-0` on a network of its own);
#   - the Secret's PostgreSQL, Redis and RabbitMQ URLs point at throwaway pods started
#     first (the manifests never contain them: they are managed services);
#   - the migration Job becomes a Pod, played and awaited before the roles, whose
#     wait-for-schema init containers are dropped (podman 4.3 restarts an init container
#     by the pod's restartPolicy, Always for a Deployment); the probes are dropped too (this
#     script asks /ready itself: podman would run an httpGet probe with curl, which the
#     image does not have);
#   - optional secretKeyRefs to absent keys are dropped (podman 4.3 has no `optional`);
#   - Ingress, NetworkPolicies, autoscalers, budgets, the CronJob and the Namespace are
#     left out.
#
# Then: the migration (and demo import) must end with 0, and every Deployment's container
# must answer /ready (the Rasa server within SMOKE_TIMEOUT seconds, 600 by default: it
# loads its model) and run as uid 10001 on a read-only root filesystem. Everything it made
# is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE="${DIGITUKI_IMAGE:-localhost/digituki:ci}"
TIMEOUT="${SMOKE_TIMEOUT:-600}"
NETWORK=digituki-kube-smoke
render_only=""
if [ "${1:-}" = "--render-only" ]; then
  render_only="${2:?--render-only needs a folder}"
fi
work="${render_only:-$(mktemp -d)}"
mkdir -p "$work"

.venv/bin/python - "$work" <<'PY'
"""The dev overlay, rendered by kustomize, in the subset podman kube play understands."""
import base64
import json
import sys
from pathlib import Path

import yaml

from tests.kustomize import render

work = Path(sys.argv[1])
objects = render("deploy/kubernetes/overlays/dev")
services = {
    "DIGITUKI_DATABASE_URL": "postgresql+psycopg2://digituki:dev-only@smoke-postgres-pod-0:5432/digituki",
    "DIGITUKI_REDIS_URL": "redis://smoke-redis-pod-0:6379/0",
    "DIGITUKI_RABBITMQ_URL": "amqp://digituki:dev-only@smoke-rabbitmq-pod-0:5672/",
}
played, secret = [], None
for obj in objects:
    kind = obj["kind"]
    if kind == "Secret":
        secret = obj
        for key, value in services.items():
            obj["data"][key] = base64.b64encode(value.encode()).decode()
    elif kind == "ConfigMap":
        data = obj["data"]
        for key in ("DIGITUKI_RASA_URL", "DIGITUKI_ACTION_SERVER_URL"):
            # http://digituki-rasa:5005 -> http://digituki-rasa-pod-0:5005
            scheme, _, rest = data[key].partition("://")
            host, _, tail = rest.partition(":")
            data[key] = f"{scheme}://{host}-pod-0:{tail}"
        played.append(obj)
    elif kind in ("Deployment", "Job"):
        pod = obj["spec"]["template"]
        keys = set(secret["data"]) if secret else set()
        for container in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                container.pop(probe, None)
            # podman 4.3 publishes every containerPort on the host: the roles' side ports
            # (9100) would clash there. The pods reach each other on the network anyway.
            container.pop("ports", None)
            container["env"] = [
                v
                for v in container.get("env", [])
                if not v.get("valueFrom", {}).get("secretKeyRef", {}).get("optional")
                or v["valueFrom"]["secretKeyRef"]["key"] in keys
            ]
        if kind == "Deployment":
            pod["spec"].pop("initContainers", None)
        if kind == "Job":
            played.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": obj["metadata"]["name"], "labels": pod["metadata"]["labels"]},
                    "spec": pod["spec"],
                }
            )
        else:
            played.append(obj)
assert secret is not None, "the dev overlay has no Secret"


def service(name, image, env, args=None):
    container = {"name": name, "image": image, "env": [{"name": k, "value": v} for k, v in env.items()]}
    if args:
        container["args"] = args
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"smoke-{name}"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"smoke": name}},
            "template": {"metadata": {"labels": {"smoke": name}}, "spec": {"containers": [container]}},
        },
    }


backing = [
    service("postgres", "docker.io/library/postgres:15",
            {"POSTGRES_USER": "digituki", "POSTGRES_PASSWORD": "dev-only", "POSTGRES_DB": "digituki"}),
    service("redis", "docker.io/library/redis:7", {}),
    service("rabbitmq", "docker.io/library/rabbitmq:3",
            {"RABBITMQ_DEFAULT_USER": "digituki", "RABBITMQ_DEFAULT_PASS": "dev-only"}),
]
(work / "secret.json").write_text(json.dumps(secret["data"]))
(work / "secret.name").write_text(secret["metadata"]["name"])
(work / "services.yaml").write_text(yaml.safe_dump_all(backing))
# The migration first, then the roles (their init containers wait for its schema).
jobs = [o for o in played if o["kind"] == "Pod"]
rest = [o for o in played if o["kind"] != "Pod"]
config = [o for o in rest if o["kind"] == "ConfigMap"]
(work / "migrate.yaml").write_text(yaml.safe_dump_all(config + jobs))
(work / "roles.yaml").write_text(yaml.safe_dump_all(rest))
print(f"kube-smoke: {len(rest) - len(config)} Deployments, {len(jobs)} job pods -> {work}")
PY
[ -z "$render_only" ] || exit 0

podman image exists "$IMAGE" || {
  echo "kube-smoke: no image $IMAGE (deploy/ci/build-image.sh builds it)" >&2; exit 2; }
bash deploy/ci/service-images.sh >/dev/null
secret="$(cat "$work/secret.name")"

cleanup() {
  for file in roles migrate services; do
    podman kube down "$work/$file.yaml" >/dev/null 2>&1 || true
  done
  podman secret rm "$secret" >/dev/null 2>&1 || true
  podman network rm -f "$NETWORK" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s)

podman network create "$NETWORK" >/dev/null
podman secret create "$secret" "$work/secret.json" >/dev/null
podman kube play --network "$NETWORK" "$work/services.yaml" >/dev/null

# container name of a Deployment's (or Pod's) container: podman calls it POD-CONTAINER
container() { podman ps -a --format '{{.Names}}' | grep -E "^$1(-pod-0)?-$2\$" | head -n 1; }
waited() { echo $(( $(date +%s) - started )); }

until podman exec "$(container smoke-postgres postgres)" pg_isready -q -U digituki 2>/dev/null; do
  [ "$(waited)" -lt 120 ] || { echo "kube-smoke: PostgreSQL did not start" >&2; exit 1; }
  sleep 2
done

podman kube play --network "$NETWORK" "$work/migrate.yaml" >/dev/null
job="$(container digituki-migrate import-demo)"
while [ "$(podman inspect -f '{{.State.Status}}' "$job")" != exited ]; do
  [ "$(waited)" -lt "$TIMEOUT" ] || { echo "kube-smoke: the migration did not end" >&2; exit 1; }
  sleep 2
done
if [ "$(podman inspect -f '{{.State.ExitCode}}' "$job")" != 0 ]; then
  podman logs "$job" | tail -20 >&2; echo "kube-smoke: the migration or demo import failed" >&2; exit 1
fi
echo "kube-smoke: migrated and imported the demo providers in $(waited) s"

podman kube play --network "$NETWORK" "$work/roles.yaml" >/dev/null
# role, the port its /ready is on (the side port, or the web service's own)
for check in rasa:9100 actions:9100 events:9100 web:8080; do
  role="${check%%:*}" port="${check##*:}"
  name="$(container "digituki-$role" "$role")"
  [ -n "$name" ] || { echo "kube-smoke: no container for $role" >&2; exit 1; }
  user="$(podman inspect -f '{{.Config.User}}' "$name")"
  read_only="$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$name")"
  if [ "$user" != "10001:0" ] && [ "$user" != "10001" ]; then
    echo "kube-smoke: $role runs as '$user', not 10001" >&2; exit 1
  fi
  [ "$read_only" = true ] || { echo "kube-smoke: $role has a writable root" >&2; exit 1; }
  until podman exec "$name" python -c \
      "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/ready', timeout=3)" \
      >/dev/null 2>&1; do
    if [ "$(podman inspect -f '{{.State.Status}}' "$name")" = exited ] || [ "$(waited)" -ge "$TIMEOUT" ]; then
      podman logs "$name" 2>&1 | tail -30 >&2
      echo "kube-smoke: $role was not ready after $(waited) s" >&2; exit 1
    fi
    sleep 3
  done
  echo "kube-smoke: $role ready after $(waited) s (uid 10001, read-only root)"
done
echo "kube-smoke: the dev overlay runs under podman kube play"
