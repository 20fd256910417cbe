"""The Kubernetes manifests (deploy/kubernetes): rendered by kustomize, valid, and safe.

Every test reads what ``kubectl apply -k`` would send: the base and both overlays rendered
by the real kustomize (:mod:`tests.kustomize`). Schemas come from ``kubernetes-validate``;
the rest are the properties that keep the assistant up and closed: unprivileged
containers, placeholder secrets only, every setting configured, probes, Services,
autoscalers, budgets and network policies that select the pods they mean, and an Ingress
that sends the widget and Messenger to the Rasa servers and nothing else there.
"""

from __future__ import annotations

import ast
import base64
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import ConfigError, load_settings
from bot.conversations.settings import load_worker_settings
from bot.web.providers_api import MAX_UPLOAD
from tests.kustomize import KustomizeError, kustomize_command, render

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("base", "dev", "production")

# kubernetes-validate 1.28.3 is the newest release that installs next to Rasa 3.6 (which
# pins jsonschema<4.18 and attrs<22.2; 1.29.0 and later need both newer): these are the
# newest schemas it ships. Every API used (apps/v1, batch/v1, autoscaling/v2, policy/v1,
# networking.k8s.io/v1) is the current stable version, unchanged in later releases.
SCHEMA_VERSIONS = ("1.29.0", "1.31.0")
VALIDATOR = Path(__file__).resolve().parents[2] / ".venv" / "k8s" / "bin" / "kubernetes-validate"
"""kubernetes-validate in a virtual environment of its own (`make k8s-tools`): its releases
with these schemas need a jsonschema newer than Rasa 3.6 allows beside it."""

ROLES = ("rasa", "actions", "web", "events")
SERVING = ("rasa", "actions", "web")
"""The components behind a Service: their rollouts must not cut a request short."""

MEASURED_RSS_MB = {"rasa": 2400, "actions": 84, "web": 93, "events": 80}
"""Resident memory measured per process (docs/deploy.md, "Kubernetes"): the Rasa server's
from our benchmark, the others' after a few hundred requests or thousands of events."""
HEADROOM = 1.2

ROLE_SECRETS = {
    "rasa": {
        "DIGITUKI_DATABASE_URL",
        "DIGITUKI_REDIS_URL",
        "DIGITUKI_RABBITMQ_URL",
        "DIGITUKI_RASA_TOKEN",
        "DIGITUKI_ACTION_TOKEN",
        "DIGITUKI_METRICS_TOKEN",
        "DIGITUKI_MESSENGER_PAGE_TOKEN",
        "DIGITUKI_MESSENGER_APP_SECRET",
        "DIGITUKI_MESSENGER_VERIFY_TOKEN",
    },
    "actions": {
        "DIGITUKI_DATABASE_URL",
        "DIGITUKI_ACTION_TOKEN",
        "DIGITUKI_ACTION_TOKEN_PREVIOUS",
        "DIGITUKI_METRICS_TOKEN",
    },
    "web": {"DIGITUKI_DATABASE_URL", "DIGITUKI_RASA_TOKEN", "DIGITUKI_METRICS_TOKEN"},
    "events": {"DIGITUKI_DATABASE_URL", "DIGITUKI_RABBITMQ_URL", "DIGITUKI_METRICS_TOKEN"},
}
"""Who holds which secret (docs/security.md, "The secrets"); jobs and init containers get
only the database."""
SECRET_SETTING = re.compile(r"TOKEN|SECRET|PASSWORD|DATABASE_URL|REDIS_URL|RABBITMQ_URL")
"""Settings that are secrets: tokens, and the managed services' URLs (with passwords)."""
PLACEHOLDER_MARKERS = ("CHANGE-ME", "dev-only")

INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
}
MONITORING = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}

Obj = dict[str, Any]


# --- rendering ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/kubernetes with production's secrets.env made from its example,
    as an operator would (a real secrets.env in the checkout is never read)."""
    if kustomize_command() is None:
        message = "kubectl or kustomize is needed to render deploy/kubernetes"
        require(message)
    copy = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, copy, ignore=shutil.ignore_patterns("secrets.env"))
    production = copy / "overlays" / "production"
    shutil.copy(production / "secrets.env.example", production / "secrets.env")
    return copy


@pytest.fixture(scope="module")
def rendered(tree: Path) -> dict[str, list[Obj]]:
    return {
        "base": render(tree / "base"),
        "dev": render(tree / "overlays" / "dev"),
        "production": render(tree / "overlays" / "production"),
    }


@pytest.fixture(scope="module")
def channel_routes() -> list[str]:
    """The paths of the channels of credentials.yml, as the Rasa server registers them."""
    from rasa.core.channels.channel import register
    from sanic import Sanic

    from connectors.messenger import MessengerInput
    from connectors.widget import WidgetInput

    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert set(credentials) == {
        "connectors.widget.WidgetInput",
        "connectors.messenger.MessengerInput",
    }, "a channel was added to credentials.yml: route it in base/ingress.yaml and here"
    app = Sanic("kubernetes_manifests_channel_routes")
    register([WidgetInput(), MessengerInput(None)], app, route="/webhooks/")
    return sorted({"/" + r.path.lstrip("/") for r in app.router.routes})


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def component(obj: Obj) -> str:
    return str(obj["metadata"]["labels"]["app.kubernetes.io/component"])


def deployment(objects: list[Obj], role: str) -> Obj:
    found = [d for d in of_kind(objects, "Deployment") if component(d) == role]
    assert len(found) == 1, f"one Deployment of {role}, found {len(found)}"
    return found[0]


def pod_templates(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(owner, pod template) of every Deployment, Job and CronJob."""
    for obj in objects:
        name = f"{obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "Job"):
            yield name, obj["spec"]["template"]
        elif obj["kind"] == "CronJob":
            yield name, obj["spec"]["jobTemplate"]["spec"]["template"]


def containers(pod: Obj) -> list[Obj]:
    return [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]


def main_container(objects: list[Obj], role: str) -> Obj:
    return deployment(objects, role)["spec"]["template"]["spec"]["containers"][0]


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A label selector (``matchLabels`` only; anything else fails the test) matches."""
    assert set(selector) <= {"matchLabels"}, f"selector {selector}: only matchLabels is handled"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def selected_pods(objects: list[Obj], selector: Obj) -> list[tuple[str, Obj]]:
    return [
        (owner, pod)
        for owner, pod in pod_templates(objects)
        if owner.startswith("Deployment") and selects(selector, pod["metadata"]["labels"])
    ]


def secret_values(secret: Obj) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    return {**values, **secret.get("stringData", {})}


def environment(container: Obj, objects: list[Obj]) -> dict[str, str]:
    """The container's variables as the kubelet would set them; every reference resolved."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, f"{container['name']}: a whole Secret as variables"
        env.update(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container.get("env", []):
        name = variable["name"]
        if "value" in variable:
            env[name] = variable["value"]
            continue
        source = variable["valueFrom"]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            values = secret_values(named(objects, "Secret", ref["name"]))
            if ref["key"] in values:
                env[name] = values[ref["key"]]
            else:
                assert ref.get("optional"), f"{name}: no key {ref['key']} in {ref['name']}"
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[name] = named(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            env[name] = f"<{source['fieldRef']['fieldPath']}>"
    return env


def container_port(container: Obj, port: int | str) -> int:
    """The number of a container's port given by name or number; fails if not declared."""
    for declared in container.get("ports", []):
        if port in (declared["containerPort"], declared.get("name")):
            return int(declared["containerPort"])
    raise AssertionError(f"{container['name']} declares no port {port!r}")


def service_backend(objects: list[Obj], service_name: str, port: int | str) -> tuple[str, int]:
    """(component, container port) a Service's port leads to (by its port's name or number)."""
    service = named(objects, "Service", service_name)
    entry = next(p for p in service["spec"]["ports"] if port in (p["port"], p.get("name")))
    pods = selected_pods(objects, {"matchLabels": service["spec"]["selector"]})
    assert len(pods) == 1, f"Service {service_name} selects {len(pods)} Deployments"
    pod = pods[0][1]
    number = container_port(pod["spec"]["containers"][0], entry.get("targetPort", entry["port"]))
    return pod["metadata"]["labels"]["app.kubernetes.io/component"], number


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (``250m``, ``2``, ``128Mi``, ``3Gi``) as a number."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?", text)
    assert match, f"quantity {text!r}"
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


def settings_in(path: Path, variable: str) -> set[str]:
    """The names in the dict's keys or the tuple assigned to ``variable`` in a module."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == variable for t in targets):
            value = node.value
            items = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
            names = {item.value for item in items if isinstance(item, ast.Constant)}
            assert names, f"{path.name}: {variable} holds no names"
            return {str(n) for n in names}
    raise AssertionError(f"{path.name} has no {variable}")


def every_setting() -> set[str]:
    """Every DIGITUKI_* setting the code reads from the environment by its tables."""
    return (
        settings_in(ROOT / "bot" / "config.py", "_ENV")
        | settings_in(ROOT / "bot" / "conversations" / "settings.py", "_ENV")
        | settings_in(ROOT / "bot" / "ops" / "run.py", "SHARED_SECRETS")
    )


# --- schemas -----------------------------------------------------------------------


def require(message: str) -> None:
    """Skips, or fails where the tools must be there (CI, DIGITUKI_REQUIRE_KUBERNETES=1)."""
    if os.environ.get("CI") or os.environ.get("DIGITUKI_REQUIRE_KUBERNETES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_in_strict_mode(
    rendered: dict[str, list[Obj]], overlay: str, version: str, tmp_path: Path
) -> None:
    if not VALIDATOR.exists():
        require(f"{VALIDATOR} is missing: make k8s-tools")
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(yaml.safe_dump_all(rendered[overlay], sort_keys=False))
    done = subprocess.run(
        [str(VALIDATOR), "--strict", "--quiet", "-k", version, str(manifest)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(rendered[overlay]) >= 15  # the whole overlay was there to be validated


def test_each_overlay_has_every_part(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        assert {component(d) for d in of_kind(objects, "Deployment")} == set(ROLES), overlay
        assert {s["metadata"]["name"] for s in of_kind(objects, "Service")} == {
            "digituki-rasa",
            "digituki-actions",
            "digituki-web",
        }
        for kind in ("ConfigMap", "Secret", "Ingress", "Job", "CronJob", "NetworkPolicy"):
            assert of_kind(objects, kind), f"{overlay}: no {kind}"
        part_of = {o["metadata"]["labels"].get("app.kubernetes.io/part-of") for o in objects}
        assert part_of == {"digituki"}, f"{overlay}: an object not labelled part-of digituki"


def test_overlays_put_everything_in_their_restricted_namespace(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay in ("dev", "production"):
        objects = rendered[overlay]
        (namespace,) = of_kind(objects, "Namespace")
        name = namespace["metadata"]["name"]
        labels = namespace["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        for obj in objects:
            if obj["kind"] != "Namespace":
                assert obj["metadata"].get("namespace") == name, obj["metadata"]["name"]


# --- containers --------------------------------------------------------------------


def test_every_container_runs_unprivileged_on_a_read_only_root(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            spec = pod["spec"]
            where = f"{overlay}: {owner}"
            pod_security = spec.get("securityContext", {})
            assert spec.get("automountServiceAccountToken") is False, where
            assert not (spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"))
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            assert not any("hostPath" in v for v in volumes.values()), where
            assert pod_security.get("runAsGroup") == 0, f"{where}: group 0 (OpenShift)"
            for container in containers(pod):
                at = f"{where}, container {container['name']}"
                security = {**pod_security, **container.get("securityContext", {})}
                assert security.get("runAsNonRoot") is True, at
                assert security.get("runAsUser") == 10001, at
                assert security.get("readOnlyRootFilesystem") is True, at
                assert security.get("allowPrivilegeEscalation") is False, at
                assert not security.get("privileged"), at
                assert security.get("capabilities", {}).get("drop") == ["ALL"], at
                assert not security.get("capabilities", {}).get("add"), at
                assert security.get("seccompProfile", {}).get("type") == "RuntimeDefault", at
                # The image writes nothing outside /tmp: a writable emptyDir there.
                tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
                assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{at}: /tmp"


def test_no_service_links_shadow_our_port_settings(rendered: dict[str, list[Obj]]) -> None:
    # The Service digituki-web would give every pod DIGITUKI_WEB_PORT=tcp://10.x.y.z:8080,
    # which bot/config.py cannot read as a port (and digituki-rasa DIGITUKI_RASA_PORT).
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            assert pod["spec"].get("enableServiceLinks") is False, f"{overlay}: {owner}"


def test_every_container_has_requests_and_limits_above_what_it_was_measured_to_use(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            for container in containers(pod):
                at = f"{overlay}: {owner}, container {container['name']}"
                resources = container.get("resources", {})
                for resource in ("cpu", "memory"):
                    request = quantity(resources["requests"][resource])
                    limit = quantity(resources["limits"][resource])
                    assert 0 < request <= limit, f"{at}: {resource} {request} > {limit}"
        for role, megabytes in MEASURED_RSS_MB.items():
            limit = quantity(main_container(objects, role)["resources"]["limits"]["memory"])
            assert limit >= megabytes * 1e6 * HEADROOM, f"{overlay}: {role} memory limit"


def test_production_rasa_memory_is_guaranteed(rendered: dict[str, list[Obj]]) -> None:
    # Request = limit: a Rasa replica, the slowest to come back, is the last to be evicted.
    resources = main_container(rendered["production"], "rasa")["resources"]
    assert quantity(resources["requests"]["memory"]) == quantity(resources["limits"]["memory"])


def test_images_are_the_ones_each_overlay_names(rendered: dict[str, list[Obj]]) -> None:
    build = (ROOT / "deploy" / "ci" / "build-image.sh").read_text()
    default_tag = re.search(r'TAG="\$\{1:-([^}]+)\}"', build)
    assert default_tag, "deploy/ci/build-image.sh: no default tag"
    expected = {
        "base": "digituki",
        # podman names a local image without a registry localhost/NAME:TAG
        "dev": f"localhost/{default_tag.group(1)}",
    }
    for overlay, objects in rendered.items():
        images = {c["image"] for _, pod in pod_templates(objects) for c in containers(pod)}
        assert len(images) == 1, f"{overlay}: one image for every role, got {images}"
        (image,) = images
        if overlay in expected:
            assert image == expected[overlay]
        else:
            name, _, tag = image.rpartition(":")
            assert not name.startswith("localhost/") and tag not in ("", "latest"), image


def test_each_deployment_runs_a_role_of_the_entry_point(rendered: dict[str, list[Obj]]) -> None:
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text()
    roles = set(re.findall(r"^\s+([a-z|-]+)\)", entrypoint, re.MULTILINE))
    for role in ROLES:
        assert role in roles
        for objects in rendered.values():
            assert main_container(objects, role)["args"] == [role]
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            for container in containers(pod):
                if "command" not in container:  # the image's entry point: a role first
                    assert container["args"][0] in roles, f"{overlay}: {owner}"


# --- configuration and secrets -------------------------------------------------------


def test_every_setting_is_in_the_config_map_or_the_secret(rendered: dict[str, list[Obj]]) -> None:
    settings = every_setting()
    assert "DIGITUKI_DATABASE_URL" in settings and "DIGITUKI_ACTION_TOKEN" in settings
    for overlay, objects in rendered.items():
        (config,) = of_kind(objects, "ConfigMap")
        (secret,) = of_kind(objects, "Secret")
        public, secrets = set(config["data"]), set(secret_values(secret))
        assert not public & secrets, f"{overlay}: in both: {public & secrets}"
        missing = settings - public - secrets
        assert not missing, f"{overlay}: not configured: {sorted(missing)}"
        exposed = {name for name in public if SECRET_SETTING.search(name)}
        assert not exposed, f"{overlay}: secrets in the ConfigMap: {sorted(exposed)}"
        not_secret = {name for name in secrets if not SECRET_SETTING.search(name)}
        assert not not_secret, f"{overlay}: plain settings in the Secret: {sorted(not_secret)}"


def looks_real(value: str) -> bool:
    """A value that is neither empty nor marked as a placeholder (a URL: by its password)."""
    if not value:
        return False
    parts = urlsplit(value)
    if parts.scheme and parts.netloc:
        password = parts.password or ""
        return bool(password) and not any(m in password for m in PLACEHOLDER_MARKERS)
    return not any(m in value for m in PLACEHOLDER_MARKERS)


def test_looks_real_tells_placeholders_from_secrets() -> None:
    assert not looks_real("CHANGE-ME")
    assert not looks_real("dev-only-rasa-token")
    assert not looks_real("postgresql+psycopg2://digituki:CHANGE-ME@db.internal:5432/digituki")
    assert not looks_real("redis://host.containers.internal:6379/0")
    assert not looks_real("")
    assert looks_real("vL3nY0dA9sXc1q2w")
    assert looks_real("postgresql+psycopg2://digituki:hunter2@CHANGE-ME.internal:5432/db")


def test_no_secret_holds_a_real_looking_value(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for secret in of_kind(objects, "Secret"):
            real = [k for k, v in secret_values(secret).items() if looks_real(v)]
            assert not real, f"{overlay}: {secret['metadata']['name']}: {real} look real"
    for path in sorted(KUBERNETES.rglob("*.env*")):
        if path.name == "secrets.env":
            continue  # the operator's own, never committed (.gitignore)
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if SECRET_SETTING.search(name) and not line.startswith("#"):
                assert not looks_real(value.strip()), f"{path.relative_to(ROOT)}: {name}"


def test_production_needs_the_operators_own_secrets(tree: Path) -> None:
    ignored = (KUBERNETES / "overlays" / "production" / ".gitignore").read_text().split()
    assert "secrets.env" in ignored
    without = tree.parent / "without-secrets"
    shutil.copytree(tree, without, ignore=shutil.ignore_patterns("secrets.env"))
    with pytest.raises(KustomizeError, match="secrets.env"):
        render(without / "overlays" / "production")


def test_containers_hold_only_the_secrets_of_their_role(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            labels = pod["metadata"]["labels"]
            for container in containers(pod):
                is_main = container in pod["spec"]["containers"]
                role = labels["app.kubernetes.io/component"]
                allowed = ROLE_SECRETS.get(role, set()) if is_main and role in ROLES else set()
                allowed = allowed | {"DIGITUKI_DATABASE_URL"}
                held = {
                    v["valueFrom"]["secretKeyRef"]["key"]
                    for v in container.get("env", [])
                    if "secretKeyRef" in v.get("valueFrom", {})
                }
                extra = held - allowed
                assert not extra, f"{overlay}: {owner}, {container['name']} holds {extra}"


def test_every_container_environment_loads_as_settings(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for owner, pod in pod_templates(objects):
            for container in containers(pod):
                env = environment(container, objects)
                try:
                    load_settings(env)
                    load_worker_settings(env)
                except ConfigError as error:
                    pytest.fail(f"{overlay}: {owner}, {container['name']}: {error}")


def test_rasa_replicas_reach_the_action_servers_and_sit_behind_one_proxy(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay, objects in rendered.items():
        env = environment(main_container(objects, "rasa"), objects)
        settings = load_settings(env)
        action_url = urlsplit(settings.action_server_url)
        assert action_url.hostname and action_url.port and action_url.path == "/webhook"
        role, port = service_backend(objects, action_url.hostname, action_url.port)
        assert (role, port) == ("actions", 5055), overlay
        assert env["TICKET_LOCK_LIFETIME"] == "30"
        # One proxy of ours in front: the ingress controller (docs/security.md, step 5).
        assert settings.trust_proxy and settings.proxy_hops == 1
        assert int(env["SANIC_BACKLOG"]) >= 1024
        # Every ${VAR} of endpoints.production.yml (the image's --endpoints) is set.
        endpoints = (ROOT / "endpoints.production.yml").read_text()
        for name in re.findall(r"\$\{(\w+)\}", endpoints):
            assert env.get(name), f"{overlay}: rasa has no {name}"
        # The web service reaches the Rasa HTTP API through its Service.
        rasa_url = urlsplit(
            load_settings(environment(main_container(objects, "web"), objects)).rasa_url
        )
        assert rasa_url.hostname and rasa_url.port
        assert service_backend(objects, rasa_url.hostname, rasa_url.port) == ("rasa", 5005)


def test_listening_ports_are_the_declared_ones(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for role in ROLES:
            container = main_container(objects, role)
            env = environment(container, objects)
            if role != "web":
                assert container_port(container, "metrics") == int(env["DIGITUKI_METRICS_PORT"])
            own = {"rasa": "DIGITUKI_RASA_PORT", "actions": "DIGITUKI_ACTION_PORT"}
            if role in own:
                assert container_port(container, "http") == int(env[own[role]]), overlay
            if role == "web":
                assert container_port(container, "http") == load_settings(env).web_port


# --- probes and rollouts ---------------------------------------------------------------


def test_probes_ask_ports_the_container_declares(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for role in ROLES:
            container = main_container(objects, role)
            assert "readinessProbe" in container and "livenessProbe" in container, role
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                if kind in container:
                    probe = container[kind]["httpGet"]
                    container_port(container, probe["port"])
                    assert probe["path"].startswith("/"), f"{overlay}: {role} {kind}"


def test_rasa_is_ready_only_with_its_model_and_may_take_minutes_to_load(
    rendered: dict[str, list[Obj]], channel_routes: list[str]
) -> None:
    for objects in rendered.values():
        rasa = main_container(objects, "rasa")
        readiness = rasa["readinessProbe"]
        # Rasa's own root, not the side port's /ready (which fails with the shared stores
        # and would take every replica out at once), with time for a busy replica.
        assert readiness["httpGet"]["path"] == "/"
        assert container_port(rasa, readiness["httpGet"]["port"]) == 5005
        assert readiness["timeoutSeconds"] >= 10
        assert rasa["livenessProbe"]["httpGet"]["path"] == "/health"
        startup = rasa["startupProbe"]
        # Port 5005 answers only once the model is loaded (up to 2-3 minutes).
        assert container_port(rasa, startup["httpGet"]["port"]) == 5005
        assert startup["httpGet"]["path"].rstrip("/") in channel_routes
        assert startup["failureThreshold"] * startup.get("periodSeconds", 10) >= 180


def test_rolling_updates_keep_every_conversation_served(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        for role in ROLES:
            spec = deployment(objects, role)["spec"]
            rolling = spec["strategy"]["rollingUpdate"]
            assert (rolling["maxUnavailable"], rolling["maxSurge"]) == (0, 1), f"{overlay} {role}"
        for role in SERVING:
            pod = deployment(objects, role)["spec"]["template"]["spec"]
            command = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
            assert command[0] == "sleep", role
            # The pod leaves the endpoints, waits, then stops within its grace period.
            assert 5 <= int(command[1]) < pod["terminationGracePeriodSeconds"] - 10, role


def test_a_new_version_waits_for_its_schema(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        for role in ROLES:
            pod = deployment(objects, role)["spec"]["template"]["spec"]
            (wait,) = pod["initContainers"]
            assert "cli db status" in wait["command"][-1], role


# --- Services, autoscaling, budgets ----------------------------------------------------


def test_services_select_their_pods_and_name_declared_ports(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay, objects in rendered.items():
        for service in of_kind(objects, "Service"):
            name = service["metadata"]["name"]
            for port in service["spec"]["ports"]:
                role, _ = service_backend(objects, name, port["port"])
                assert f"digituki-{role}" == name, f"{overlay}: {name} selects {role}"


def test_autoscalers_target_deployments_they_own(rendered: dict[str, list[Obj]]) -> None:
    for overlay in ("base", "production"):
        objects = rendered[overlay]
        targets = set()
        for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
            ref = hpa["spec"]["scaleTargetRef"]
            assert ref["kind"] == "Deployment"
            target = named(objects, "Deployment", ref["name"])
            targets.add(component(target))
            # kubectl apply would reset the autoscaler's count to a fixed one.
            assert "replicas" not in target["spec"], ref["name"]
            pod = target["spec"]["template"]["spec"]
            assert all("cpu" in c["resources"]["requests"] for c in pod["containers"])
            assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], overlay
        assert targets == {"rasa", "actions"}, overlay


def test_production_keeps_two_of_everything_and_drains_one_at_a_time(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["production"]
    minimum = {}
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        target = named(objects, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
        minimum[component(target)] = hpa["spec"]["minReplicas"]
    assert minimum["rasa"] >= 2 and minimum["actions"] >= 2
    for role in ROLES:
        replicas = deployment(objects, role)["spec"].get("replicas", minimum.get(role))
        assert replicas >= 2, role
        owner = f"Deployment {deployment(objects, role)['metadata']['name']}"
        budgets = [
            b
            for b in of_kind(objects, "PodDisruptionBudget")
            if [o for o, _ in selected_pods(objects, b["spec"]["selector"])] == [owner]
        ]
        assert len(budgets) == 1, f"{role}: {len(budgets)} budgets"
        assert budgets[0]["spec"]["minAvailable"] == 1 < replicas


def test_dev_runs_one_of_each(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["dev"]
    assert not of_kind(objects, "HorizontalPodAutoscaler")
    assert not of_kind(objects, "PodDisruptionBudget")
    assert all(d["spec"]["replicas"] == 1 for d in of_kind(objects, "Deployment"))


def test_every_budget_selects_pods(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        for budget in of_kind(objects, "PodDisruptionBudget"):
            assert selected_pods(objects, budget["spec"]["selector"]), budget["metadata"]["name"]


# --- network policies --------------------------------------------------------------------


def allowed_peers(objects: list[Obj], role: str, port: str) -> list[Obj]:
    """Every ``from`` peer of the policies that let traffic to ``role``'s port in."""
    pod = deployment(objects, role)["spec"]["template"]
    container = pod["spec"]["containers"][0]
    number = container_port(container, port)
    peers = []
    for policy in of_kind(objects, "NetworkPolicy"):
        if not selects(policy["spec"]["podSelector"], pod["metadata"]["labels"]):
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if not ports or port in ports or number in ports:
                assert rule.get("from"), f"{policy['metadata']['name']}: open to everyone"
                peers.extend(rule["from"])
    return peers


def pod_peer(objects: list[Obj], peer: Obj) -> str | None:
    """The one component a same-namespace pod peer selects; None for other peers."""
    if set(peer) != {"podSelector"}:
        return None
    pods = selected_pods(objects, peer["podSelector"])
    assert len(pods) == 1, f"peer {peer} selects {len(pods)} Deployments"
    return str(pods[0][1]["metadata"]["labels"]["app.kubernetes.io/component"])


def test_ingress_is_denied_unless_a_policy_lets_it_in(rendered: dict[str, list[Obj]]) -> None:
    for overlay, objects in rendered.items():
        deny = [
            p
            for p in of_kind(objects, "NetworkPolicy")
            if p["spec"]["podSelector"] == {}
            and "Ingress" in p["spec"]["policyTypes"]
            and not p["spec"].get("ingress")
        ]
        assert len(deny) == 1, f"{overlay}: no default deny"
        for policy in of_kind(objects, "NetworkPolicy"):
            if policy is not deny[0]:
                assert selected_pods(objects, policy["spec"]["podSelector"]), policy
            for rule in policy["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    assert "ipBlock" not in peer and peer != {}, policy["metadata"]["name"]


def test_only_the_ingress_controller_and_the_web_service_reach_rasa(
    rendered: dict[str, list[Obj]],
) -> None:
    for objects in rendered.values():
        peers = allowed_peers(objects, "rasa", "http")
        assert INGRESS_CONTROLLER in peers
        others = [p for p in peers if p != INGRESS_CONTROLLER]
        assert [pod_peer(objects, p) for p in others] == ["web"]
        assert allowed_peers(objects, "rasa", "metrics") == [MONITORING]


def test_only_rasa_reaches_the_action_servers(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        peers = allowed_peers(objects, "actions", "http")
        assert [pod_peer(objects, p) for p in peers] == ["rasa"]
        assert allowed_peers(objects, "actions", "metrics") == [MONITORING]


def test_only_the_ingress_controller_and_monitoring_reach_the_web_service(
    rendered: dict[str, list[Obj]],
) -> None:
    for objects in rendered.values():
        peers = allowed_peers(objects, "web", "http")
        assert sorted(map(str, peers)) == sorted(map(str, [INGRESS_CONTROLLER, MONITORING]))
        assert allowed_peers(objects, "events", "metrics") == [MONITORING]


def test_policy_ports_are_declared_by_the_pods_they_select(
    rendered: dict[str, list[Obj]],
) -> None:
    for objects in rendered.values():
        for policy in of_kind(objects, "NetworkPolicy"):
            pods = selected_pods(objects, policy["spec"]["podSelector"])
            declared = {
                value
                for _, pod in pods
                for c in pod["spec"]["containers"]
                for p in c.get("ports", [])
                for value in (p.get("name"), p["containerPort"])
            }
            for rule in policy["spec"].get("ingress", []):
                for port in rule.get("ports", []):
                    assert port["port"] in declared, f"{policy['metadata']['name']}: {port}"


# --- the Ingress ---------------------------------------------------------------------------


def route(ingress: Obj, path: str) -> tuple[str, str | int]:
    """(Service, port) of the Ingress path that takes ``path`` (Kubernetes' matching:
    an Exact path first, then the longest Prefix, compared by whole path elements)."""
    (rule,) = ingress["spec"]["rules"]
    elements = [e for e in path.split("/") if e]
    best: tuple[int, Obj] | None = None
    for entry in rule["http"]["paths"]:
        own = [e for e in entry["path"].split("/") if e]
        if entry["pathType"] == "Exact":
            matches, score = own == elements and path == entry["path"], 10**6
        else:
            assert entry["pathType"] == "Prefix", entry
            matches, score = elements[: len(own)] == own, len(own)
        if matches and (best is None or score > best[0]):
            best = (score, entry)
    assert best is not None, f"nothing routes {path}"
    service = best[1]["backend"]["service"]
    port = service["port"]
    return service["name"], port.get("name", port.get("number"))


def test_the_ingress_sends_the_channels_to_rasa_and_the_rest_to_the_web(
    rendered: dict[str, list[Obj]], channel_routes: list[str]
) -> None:
    assert "/webhooks/widget/websocket" in channel_routes
    assert "/webhooks/messenger/webhook" in channel_routes
    to_rasa = channel_routes
    # Rasa's HTTP API and the tests' REST channel stay inside (docs/security.md).
    to_web = [
        "/",
        "/widget/widget.js",
        "/demo/fi",
        "/console",
        "/api/v1/providers/search",
        "/conversations/abc/tracker/events",
        "/model/parse",
        "/status",
        "/webhooks/rest/webhook",
        "/webhooks/widgets",
    ]
    for overlay, objects in rendered.items():
        (ingress,) = of_kind(objects, "Ingress")
        for path in to_rasa:
            assert service_backend(objects, *route(ingress, path)) == ("rasa", 5005), path
        for path in to_web:
            assert service_backend(objects, *route(ingress, path)) == ("web", 8080), path
        annotations = ingress["metadata"]["annotations"]
        for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
            assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600, overlay
        body = re.fullmatch(r"(\d+)m", annotations["nginx.ingress.kubernetes.io/proxy-body-size"])
        assert body and int(body.group(1)) * 2**20 > MAX_UPLOAD, overlay
        origins = load_settings(environment(main_container(objects, "web"), objects))
        host = ingress["spec"]["rules"][0]["host"]
        assert any(
            urlsplit(o).hostname == host for o in origins.allowed_widget_origins
        ), f"{overlay}: the demo pages on {host} may not open the widget"


# --- jobs -------------------------------------------------------------------------------------


def test_the_migration_runs_in_every_overlay_and_the_demo_import_only_in_dev(
    rendered: dict[str, list[Obj]],
) -> None:
    for overlay, objects in rendered.items():
        job = named(objects, "Job", "digituki-migrate")["spec"]["template"]["spec"]
        args = [c["args"] for c in containers({"spec": job})]
        assert args == ([["migrate"], ["import-demo"]] if overlay == "dev" else [["migrate"]])
        everywhere = [c.get("args") for _, pod in pod_templates(objects) for c in containers(pod)]
        assert (["import-demo"] in everywhere) == (overlay == "dev"), overlay


def test_retention_runs_nightly_one_at_a_time(rendered: dict[str, list[Obj]]) -> None:
    for objects in rendered.values():
        cron = named(objects, "CronJob", "digituki-retention")
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        args = container["args"]
        assert (
            args[:3] == ["cli", "retention", "apply"] and int(args[args.index("--days") + 1]) >= 1
        )
