"""pbxctl built as a wheel and installed into a virtualenv outside the checkout, as a user would get it.

The virtualenv with pbxctl's dependencies is slow to make (~40 s, Ansible alone is big), so it is kept under
~/.cache/pbxctl, one per dependency list; the freshly built wheel is reinstalled into it on every run, so what
is tested is always this checkout's wheel, never the editable install.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what goes into the wheel: the package and the top-level directories its symlinks lead to
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "pbxctl", "playbooks", "roles", "phone_templates")
EXTRA = ("ansible-runner>=2.3",)  # to run the build as ansible-runner (and so AWX) would


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment where `pbxctl`, `ansible-playbook` and `ansible-runner` are the installed ones."""
        # a user at a terminal, not a CI job: under CI=true pbxctl would (rightly) refuse to generate secrets
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "CI")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, *argv: str, cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=cwd, env=self.env(**env), capture_output=True, text=True,
                              timeout=timeout)


def build_wheel(into: Path) -> Path:
    """`pip wheel` of a copy of the sources (the build writes build/ beside them, which is pbxctl's too)."""
    source = into / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(into / "dist"), str(source)],
                   check=True, capture_output=True, text=True, timeout=600)
    (wheel,) = (into / "dist").glob("pbxctl-*.whl")
    return wheel


def _dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return sorted(project["dependencies"]) + list(EXTRA)


def cached_venv() -> Path:
    dependencies = _dependencies()
    key = hashlib.sha256("\n".join([sys.version, *dependencies]).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pbxctl"
    venv = cache / f"install-venv-{key}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"install-venv-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker at a time; the others wait and reuse it
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            base = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *dependencies], check=True, timeout=1200)
            (venv / ".complete").touch()
    return venv


def install(into: Path) -> Installed:
    wheel = build_wheel(into)
    venv = cached_venv()
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    return Installed(venv, wheel)


SMALL_SITE = """\
# yaml-language-server: $schema=site.schema.json
site:
  name: {name}
  timezone: Europe/Berlin
  country: DE
pbx:
  host: 192.0.2.10
extensions:
  - number: "100"
    name: Anna
  - number: "101"
    name: Ben
phones:
  - mac: "00:0e:08:d1:00:01"
    model: cisco-spa303
    lines:
      - extension: "100"
"""
