"""The Dockerfile: lint-clean, non-root, no secrets, and a build context that holds what it copies.

These read the Dockerfile itself (hadolint, the real linter, and the checks below); the
health check it names (``--healthcheck``) is tested in tests/test_healthcheck.py, and
test_image_build.py builds the image and runs it.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib

from exporter import __version__
from tests.deploy.paths import DOCKERFILE, DOCKERIGNORE, REPO, tool

SECRET_WORDS = re.compile(r"secret|password|token|api_key|credential", re.IGNORECASE)
OCI_KEYS = (
    "title",
    "description",
    "version",
    "revision",
    "created",
    "source",
    "documentation",
    "licenses",
    "url",
)
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each Dockerfile line, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def final_stage() -> list[tuple[str, str]]:
    """Return the instructions after the last FROM: what the shipped image is made of."""
    steps = instructions()
    last_from = max(index for index, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def arg_defaults() -> dict[str, str]:
    """Return each ``ARG NAME=default`` of the Dockerfile (the last one wins)."""
    pairs = (arguments.partition("=") for name, arguments in instructions() if name == "ARG")
    return {key: value.strip('"') for key, sep, value in pairs if sep}


def build_context_includes(path: str) -> bool:
    """Apply .dockerignore (an allowlist: "*" then "!" exceptions) to a context path."""
    included = True
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        bare = pattern.removeprefix("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(f"{bare}/"):
            included = negated
    return included


class TestLint:
    """hadolint, the Dockerfile linter, finds nothing."""

    def test_dockerfile_is_hadolint_clean(self) -> None:
        """No finding at any severity, style included."""
        result = subprocess.run(
            [tool("hadolint"), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == ""


class TestRuntimeImage:
    """The final stage runs the console script as an unprivileged numeric user."""

    def test_final_stage_runs_as_a_numeric_non_root_user(self) -> None:
        """USER is uid:gid in numbers, neither of them 0, so runAsNonRoot can verify it."""
        users = [arguments for name, arguments in final_stage() if name == "USER"]
        assert users, "the final stage sets no USER"
        uid, _, gid = users[-1].partition(":")
        assert uid.isdigit()
        assert gid.isdigit()
        assert int(uid) != 0
        assert int(gid) != 0

    def test_final_stage_is_slim_python_and_the_build_is_multi_stage(self) -> None:
        """Two stages on python slim; the venv is copied from the build stage."""
        froms = [arguments for name, arguments in instructions() if name == "FROM"]
        assert len(froms) >= 2
        assert "python:3.11-slim" in DOCKERFILE.read_text()
        assert any(name == "COPY" and "--from=build" in arguments for name, arguments in final_stage())

    def test_image_exposes_the_default_port_and_runs_the_console_script(self) -> None:
        """EXPOSE 9862 and ENTRYPOINT the script pyproject.toml installs."""
        steps = dict(final_stage())
        assert steps["EXPOSE"] == "9862"
        scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
        assert steps["ENTRYPOINT"] == '["acronis-task-exporter"]'
        assert "acronis-task-exporter" in scripts

    def test_health_check_is_the_exporters_own_mode(self) -> None:
        """HEALTHCHECK runs ``acronis-task-exporter --healthcheck`` in exec form (no shell in the way)."""
        healthcheck = dict(final_stage())["HEALTHCHECK"]
        assert healthcheck.endswith('CMD ["acronis-task-exporter", "--healthcheck"]'), healthcheck

    def test_image_carries_every_oci_label(self) -> None:
        """The nine annotations, from title to url, are set in the final stage."""
        labels = " ".join(arguments for name, arguments in final_stage() if name == "LABEL")
        for key in OCI_KEYS:
            assert f"org.opencontainers.image.{key}=" in labels

    def test_label_defaults_are_valid_without_build_arguments(self) -> None:
        """A bare ``docker build`` labels the package's version, an RFC 3339 time, an https source."""
        defaults = arg_defaults()
        assert defaults["VERSION"] == __version__
        assert RFC3339.fullmatch(defaults["CREATED"])
        assert defaults["SOURCE_URL"].startswith("https://")

    def test_no_secret_is_baked_into_the_image(self) -> None:
        """No ENV or ARG names a secret, so none can end up in a layer or `docker inspect`."""
        for name, arguments in instructions():
            if name in {"ENV", "ARG"}:
                assert not SECRET_WORDS.search(arguments), arguments


class TestReproducibleBuild:
    """The base is pinned, nothing is pulled besides it, and the locks are what gets installed."""

    def test_base_image_is_pinned_by_digest(self) -> None:
        """PYTHON_IMAGE defaults to python:3.11-slim-bookworm@sha256:<64 hex>; every FROM uses it."""
        assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", arg_defaults()["PYTHON_IMAGE"])
        froms = [arguments.split()[0] for name, arguments in instructions() if name == "FROM"]
        assert set(froms) == {"${PYTHON_IMAGE}"}

    def test_no_syntax_directive_makes_buildkit_pull_a_frontend(self) -> None:
        """No ``# syntax=`` parser directive: BuildKit would fetch that frontend image first."""
        assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE.read_text(), re.IGNORECASE | re.MULTILINE)

    def test_dependencies_are_installed_from_the_locks_with_hashes(self) -> None:
        """Each lock is installed in --require-hashes mode: an unpinned or altered wheel fails the build."""
        runs = " ".join(arguments for name, arguments in instructions() if name == "RUN")
        for lock in ("requirements.lock", "requirements-build.lock"):
            assert re.search(rf"--require-hashes\s+(-r|--requirement)\s+{re.escape(lock)}", runs), lock


class TestBuildContext:
    """.dockerignore lets in exactly what the Dockerfile copies."""

    def test_every_copied_path_is_in_the_build_context(self) -> None:
        """Each COPY source exists and survives .dockerignore."""
        for name, arguments in instructions():
            if name != "COPY" or "--from=" in arguments:
                continue
            *sources, _ = arguments.split()
            for source in sources:
                assert (REPO / source).exists(), source
                assert build_context_includes(source.rstrip("/")), source

    def test_build_context_leaves_out_the_venv_git_tests_and_local_credentials(self) -> None:
        """Nothing but the package sources and metadata reach the builder."""
        for path in (".venv/bin/python", ".git/config", "tests/conftest.py", "deploy/compose/cloud.env"):
            assert not build_context_includes(path), path

    def test_package_metadata_the_build_needs_is_in_the_context(self) -> None:
        """pyproject.toml's readme and packages are copied (pip install . needs them)."""
        pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
        assert build_context_includes(pyproject["project"]["readme"])
        packages = [
            pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
        ]
        assert "simulator" in packages  # --demo and the compose demo stack run the image's simulator
        copied = {arguments.split()[0] for name, arguments in instructions() if name == "COPY"}
        for package in packages:
            assert build_context_includes(f"{package}/__init__.py"), package
            assert package in copied, f"the Dockerfile does not COPY {package}"
