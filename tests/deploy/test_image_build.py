"""The image the Dockerfile builds: labels, contents, and a smoke run of the exporter in it.

Built with buildah (chroot isolation) on a debootstrapped Debian base, offline from a host
wheelhouse of the locks (tests/deploy/image.py). ``buildah run`` starts the image's
ENTRYPOINT the way a container runtime would: as the image's USER, with its ENV, sharing the
host's network, so the test reaches /metrics on 127.0.0.1 and signals the exporter process
directly, as a runtime signals a container's first process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter import __version__
from tests.deploy import image
from tests.deploy.paths import REPO
from tests.support.lifetime import answers_ok
from tests.support.processes import free_port, log_events, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.image, pytest.mark.slow, pytest.mark.timeout(2 * image.BUILD_TIMEOUT)]

TAG = f"localhost/acronis-task-exporter:image-test-{os.getpid()}"  # two runs on one machine never collide
REVISION = "0123456789abcdef0123456789abcdef01234567"
CREATED = "2026-12-01T12:34:56Z"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
LABEL_KEYS = (
    "title", "description", "version", "revision", "created", "source", "documentation", "licenses", "url",
)  # fmt: skip
NON_ROOT = 65532
SHIPPED_NOTHING_OF = ("pip", "setuptools", "pkg_resources", "wheel", "_distutils_hack")


@pytest.fixture(scope="module")
def built() -> Iterator[dict[str, Any]]:
    """Build the image once for the module; yield its buildah description; remove it after."""
    image.require_builder()
    image.build_image(TAG, {"REVISION": REVISION, "CREATED": CREATED})
    yield image.inspect_image(TAG)
    subprocess.run(["buildah", "rmi", "--force", TAG], capture_output=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def container(built: dict[str, Any]) -> Iterator[str]:
    """Yield a working container of the built image, removed at the end."""
    assert built
    name = image.buildah("from", "--pull=never", TAG)
    yield name
    subprocess.run(["buildah", "rm", name], capture_output=True, check=False, timeout=120)


def config(built: dict[str, Any]) -> dict[str, Any]:
    """Return the image's OCI runtime configuration (User, Env, Entrypoint, Labels)."""
    oci: dict[str, Any] = built["OCIv1"]["config"]
    return oci


class TestLabels:
    """The OCI labels are all there and each is well-formed."""

    def test_every_oci_label_is_set(self, built: dict[str, Any]) -> None:
        """Each of the nine annotations the image ships has a non-empty value."""
        labels = config(built)["Labels"]
        for key in LABEL_KEYS:
            assert labels.get(f"org.opencontainers.image.{key}"), key

    def test_created_is_rfc3339_from_the_build_argument(self, built: dict[str, Any]) -> None:
        """``created`` is the CREATED build argument, an RFC 3339 date-time."""
        created = config(built)["Labels"]["org.opencontainers.image.created"]
        assert RFC3339.fullmatch(created)
        assert dt.datetime.fromisoformat(created).tzinfo is not None
        assert created == CREATED

    def test_links_are_absolute_https_urls(self, built: dict[str, Any]) -> None:
        """``source``, ``url`` and ``documentation`` are URLs a registry UI can link."""
        labels = config(built)["Labels"]
        for key in ("source", "url", "documentation"):
            parts = urlsplit(labels[f"org.opencontainers.image.{key}"])
            assert parts.scheme == "https", key
            assert parts.netloc, key

    def test_version_revision_and_licence_match_the_source(self, built: dict[str, Any]) -> None:
        """The version is the package's, the revision the one built, the licence pyproject's."""
        labels = config(built)["Labels"]
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        assert labels["org.opencontainers.image.version"] == __version__
        assert labels["org.opencontainers.image.revision"] == REVISION
        assert labels["org.opencontainers.image.licenses"] == project["license"]


class TestContents:
    """What is installed in the runtime image, and as whom it runs."""

    def test_runs_as_the_non_root_user_by_default(self, built: dict[str, Any], container: str) -> None:
        """Without --user, a process in the image is uid and gid 65532."""
        assert config(built)["User"] == f"{NON_ROOT}:{NON_ROOT}"
        ids = image.run_in(container, ["python", "-c", "import os; print(os.getuid(), os.getgid())"])
        assert ids == f"{NON_ROOT} {NON_ROOT}"

    def test_no_installer_is_importable_or_on_path(self, container: str) -> None:
        """pip, setuptools, pkg_resources and wheel are neither importable nor in the venv's bin."""
        probe = f"import importlib.util as u; print([m for m in {SHIPPED_NOTHING_OF!r} if u.find_spec(m)])"
        assert image.run_in(container, ["python", "-c", probe]) == "[]"
        scripts = image.run_in(container, ["ls", "/opt/acronis-task-exporter/bin"]).split()
        assert not [name for name in scripts if name.startswith(("pip", "easy_install", "wheel"))]

    def test_installed_distributions_are_exactly_the_locked_ones(self, container: str) -> None:
        """The venv holds the lock's pins and the package, nothing more or less."""
        listing = (
            "import json, importlib.metadata as m; "
            "print(json.dumps({d.name: d.version for d in m.distributions()}))"
        )
        installed = json.loads(image.run_in(container, ["python", "-c", listing]))
        expected = {**locked_pins(image.LOCKS[0]), "acronis-task-exporter": __version__}
        assert {normalise(name): version for name, version in installed.items()} == expected


class TestSmokeRun:
    """The entrypoint, run in the image with --demo, serves metrics and stops on SIGTERM."""

    def test_demo_serves_metrics_as_non_root_and_exits_zero_on_sigterm(
        self, built: dict[str, Any], container: str, tmp_path: Path
    ) -> None:
        """/metrics has acronis_up 1 and the revision built; SIGTERM ends it with exit 0 and its log line."""
        port = free_port()
        env = {"ACRONIS_EXPORTER_WEB__LISTEN_ADDRESS": f"127.0.0.1:{port}"}
        stderr_path = tmp_path / "container-stderr.log"
        argv = [
            "buildah",
            "run",
            *image.isolation_and_env(env),
            container,
            "--",
            *config(built)["Entrypoint"],
        ]
        with stderr_path.open("wb") as stderr:
            runner = subprocess.Popen([*argv, "--demo"], stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            exporter = wait_until(
                lambda: exporter_process(runner.pid),
                timeout=120,
                what=f"the exporter in the container\n{stderr_path.read_text()[-3000:]}",
            )
            assert image.process_ids(exporter) == (NON_ROOT, NON_ROOT)
            wait_until(
                lambda: answers_ok(f"http://127.0.0.1:{port}/readyz", timeout=5),
                timeout=120,
                what=f"/readyz of the containerised exporter\n{stderr_path.read_text()[-3000:]}",
            )
            samples = scrape(f"http://127.0.0.1:{port}/metrics")
            assert samples[("acronis_up", ())] == 1
            assert any(name.startswith("acronis_tasks") for name, _ in samples)
            assert samples[("acronis_exporter_build_info", (("revision", REVISION),))] == 1
            healthcheck = config(built).get("Healthcheck") or built["Docker"]["config"]["Healthcheck"]
            assert healthcheck["Test"][0] == "CMD"
            image.run_in(container, healthcheck["Test"][1:], env)  # exits 0, or run() fails the test
            os.kill(exporter, signal.SIGTERM)
            assert runner.wait(timeout=60) == 0
        finally:
            if runner.poll() is None:
                for pid in image.descendants(runner.pid):
                    os.kill(pid, signal.SIGKILL)
                runner.kill()
                runner.wait()
        stopped = [
            event
            for event in log_events(stderr_path.read_text())
            if event.name == "exporter_stopped_by_signal"
        ]
        assert [event.fields["signal"] for event in stopped] == ["SIGTERM"]


def exporter_process(runner: int) -> int | None:
    """Return the pid of the exporter's Python below a ``buildah run`` process, once it started."""
    for pid in image.descendants(runner):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[0].endswith(b"/bin/python") and any(
            part.endswith(b"acronis-task-exporter") for part in command
        ):
            return pid
    return None


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET an exposition and return each sample's value by (name, labels); build_info keeps only revision."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == httpx.codes.OK
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "acronis_exporter_build_info":
                labels = {"revision": labels["revision"]}
            samples[(sample.name, tuple(sorted(labels.items())))] = sample.value
    return samples


def normalise(name: str) -> str:
    """Return the PEP 503 normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(lock: Path) -> dict[str, str]:
    """Return name -> version for every ``name==version`` line of a requirements lock."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(), re.MULTILINE)
    return {normalise(name): version for name, version in pins}
