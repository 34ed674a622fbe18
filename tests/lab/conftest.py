"""Fixtures for tests against the lab's real servers and SIP peers.

`lab` boots pbx + carrier once per session (and stops them afterwards only if this session booted them,
so a lab someone is already using stays up). `carrier` is the SIP provider, `phone_factory` makes
baresip phones on the host. Tests using them are marked `lab` and skip where the lab cannot run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness.carrier import Carrier
from harness.phone import Phone

from pbxctl import lab as lab_api
from pbxctl.lab import LabHost


class LabSession(dict[str, LabHost]):
    """The running lab machines by name. started_here: this session booted the lab (so may stop it)."""

    started_here: bool = False


@pytest.fixture(scope="session")
def lab() -> Iterator[LabSession]:
    problem = lab_api.preflight_problem()
    if problem is None and not shutil.which("systemd-nspawn") and not shutil.which("apt-get"):
        problem = "systemd-nspawn is not installed and cannot be (no apt-get)"
    if problem:
        pytest.skip(f"lab unavailable: {problem}")
    already_up = all(lab_api.status().values())
    # a lab this session boots starts from bare servers: no state left by earlier runs decides the outcome
    session = LabSession(lab_api.up(fresh=not already_up))
    session.started_here = not already_up
    yield session
    if session.started_here:
        lab_api.down()


@pytest.fixture
def lab_owned(lab: LabSession) -> LabSession:
    """For tests that stop or power-cut machines: only on a lab this session booted (as in CI), or when
    PBXCTL_LAB_DISRUPT=1 says nobody else is using it."""
    if not lab.started_here and os.environ.get("PBXCTL_LAB_DISRUPT") != "1":
        pytest.skip("the lab was already up when this session began; someone else may be using it "
                    "(PBXCTL_LAB_DISRUPT=1 runs this anyway)")
    return lab


@pytest.fixture(scope="session")
def carrier(lab: LabSession) -> Carrier:
    """The provider; each test gives it the accounts it needs with carrier.configure([...])."""
    return Carrier("carrier")


@pytest.fixture
def phone_factory(lab: LabSession, tmp_path: Path) -> Iterator[Callable[..., Phone]]:
    """phone_factory(user, password, server=<pbx address>, local_address=..., auto_answer=True,
    registers=True) -> a started Phone; every phone is stopped after the test."""
    phones: list[Phone] = []

    def make(
        user: str,
        password: str,
        server: str | None = None,
        local_address: str = lab_api.HOST_ADDRESS,
        **options: object,
    ) -> Phone:
        if local_address != lab_api.HOST_ADDRESS:
            lab_api.add_host_address(local_address)
        phone = Phone(
            tmp_path / f"phone-{len(phones)}-{user}",
            user,
            password,
            server or lab["pbx"].address,
            local_address=local_address,
            **options,  # type: ignore[arg-type]
        )
        phones.append(phone)
        return phone.start()

    yield make
    for phone in phones:
        phone.stop()
