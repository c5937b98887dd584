"""podman for tests: a local Debian base, the real Dockerfile built on it, containers
started and removed by name.

Only PyPI and Debian are reachable from this machine kind, so no base image can be
pulled: the base is a Debian bookworm rootfs made by mmdebstrap and imported once, then
kept in podman's own storage (with the build's layer cache) for the next run. The
engine's settings live in a CONTAINERS_CONF file of the test's own, never in /etc:
runc (crun fails on this host's hybrid cgroups) and ulimits the host can grant.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "routines:0.1.0"
BASE_IMAGE = "localhost/routines-test-base:bookworm"
#: A cached base older than this is made again, so it picks up Debian's security updates.
BASE_MAX_AGE = timedelta(days=7)
#: The host's CA bundle: outbound HTTPS here may pass a proxy that the base's bundle,
#: and pip's own, do not know. Mounted read-only into every build step.
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
ENGINE_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""
#: What every service container gets, as k8s/base runs the pods: a read-only root
#: (podman still mounts a tmpfs on /tmp), no capabilities, no privilege escalation.
HARDENED = ["--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges"]


class ContainerError(RuntimeError):
    pass


class Podman:
    """The podman CLI with the test's own engine configuration."""

    def __init__(self, binary: str, conf_dir: Path) -> None:
        conf = conf_dir / "containers.conf"
        conf.write_text(ENGINE_CONF)
        self.binary = binary
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def __call__(self, *argv: str, timeout: float = 60, check: bool = True) -> str:
        result = subprocess.run(
            [self.binary, *argv],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise ContainerError(
                f"podman {' '.join(argv[:3])} ... exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def image_created(self, image: str) -> datetime | None:
        """When a local image was made, or None if there is none by that name."""
        exists = subprocess.run(
            [self.binary, "image", "exists", image], env=self.env, check=False, timeout=30
        )
        if exists.returncode != 0:
            return None
        created = self("image", "inspect", "--format", "{{.Created.Unix}}", image).strip()
        return datetime.fromtimestamp(int(created), UTC)


def ensure_base(podman: Podman, *, now: datetime) -> str:
    """The Debian bookworm base with python3 and its venv module, made with mmdebstrap
    (about 30 s) unless a recent one is already in podman's storage."""
    created = podman.image_created(BASE_IMAGE)
    if created is not None and now - created < BASE_MAX_AGE:
        return BASE_IMAGE
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise ContainerError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    with tempfile.TemporaryDirectory(prefix="routines-base-") as folder:
        tarball = Path(folder) / "base.tar"
        subprocess.run(
            [
                mmdebstrap,
                "--quiet",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(tarball),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        podman("import", str(tarball), BASE_IMAGE, timeout=300)
    return BASE_IMAGE


def build_image(podman: Podman, *, base: str) -> float:
    """`podman build` of the repository's own Dockerfile on `base`; the seconds it took."""
    argv = ["build", "--tag", IMAGE, "--build-arg", f"BASE={base}"]
    if Path(HOST_CA_BUNDLE).is_file():
        argv += [
            f"--volume={HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro",
            "--build-arg",
            f"PIP_CERT={HOST_CA_BUNDLE}",
        ]
    for name in PROXY_VARIABLES:
        if os.environ.get(name):
            argv += ["--build-arg", f"{name}={os.environ[name]}"]
    started = time.monotonic()
    podman(*argv, str(ROOT), timeout=900)
    return time.monotonic() - started


class Container:
    """One detached container of the image on the host's network, gone after remove()."""

    def __init__(self, podman: Podman, role: str, argv: Sequence[str], env: Mapping[str, str]):
        self.podman = podman
        self.name = f"routines-test-{role}-{uuid.uuid4().hex[:8]}"
        self.podman(
            "run",
            "--detach",
            f"--name={self.name}",
            "--network=host",
            *HARDENED,
            *env_flags(env),
            IMAGE,
            *argv,
        )

    def running(self) -> bool:
        state = self.podman("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.strip() == "true"

    def logs(self) -> str:
        return self.podman("logs", self.name, check=False)

    def host_pid(self) -> int:
        return int(self.podman("inspect", "--format", "{{.State.Pid}}", self.name).strip())

    def stop(self, grace_seconds: int = 30) -> int:
        """SIGTERM to the container's first process, SIGKILL after the grace period, as a
        pod is stopped; the exit code."""
        self.podman("stop", f"--time={grace_seconds}", self.name, timeout=grace_seconds + 30)
        return int(self.podman("inspect", "--format", "{{.State.ExitCode}}", self.name).strip())

    def remove(self) -> None:
        self.podman("rm", "--force", "--time=5", self.name, check=False, timeout=60)


def run_once(podman: Podman, argv: Sequence[str], env: Mapping[str, str]) -> str:
    """A one-off command of the image (`db upgrade`); its output."""
    return podman(
        "run", "--rm", "--network=host", *HARDENED, *env_flags(env), IMAGE, *argv, timeout=120
    )


def env_flags(env: Mapping[str, str]) -> list[str]:
    return [f"--env={name}={value}" for name, value in env.items()]


def process_ids(pid: int) -> tuple[int, int]:
    """The real UID and GID of a host process, as the kernel reports them."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])
