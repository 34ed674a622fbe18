"""Every case renders byte-for-byte what its expected/ holds. PBXCTL_UPDATE_EXPECTED=1 rewrites expected/."""

import os
import shutil

import pytest

from .helpers import CASES, CASES_DIR, render_case


@pytest.mark.parametrize("case", CASES)
def test_case_renders_expected_files(case):
    rendered = render_case(case)
    expected_dir = CASES_DIR / case / "expected"
    if os.environ.get("PBXCTL_UPDATE_EXPECTED") == "1":
        shutil.rmtree(expected_dir, ignore_errors=True)
        for name, data in rendered.items():
            (expected_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / name).write_bytes(data)
    expected = {str(p.relative_to(expected_dir)): p.read_bytes() for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(rendered) == sorted(expected), "files rendered differ from expected/ (PBXCTL_UPDATE_EXPECTED=1)"
    for name, data in rendered.items():
        assert data == expected[name], f"{case}/{name} differs from expected (PBXCTL_UPDATE_EXPECTED=1 to accept)"


@pytest.mark.parametrize("case", CASES)
def test_rendering_is_deterministic(case):
    render_case.cache_clear()
    first = render_case(case)
    render_case.cache_clear()
    assert render_case(case) == first
