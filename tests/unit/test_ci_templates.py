"""The CI templates for site repositories: what each pipeline does on which event, and their tools' own schema
checks (check-jsonschema's vendored GitHub Actions and GitLab CI schemas, pre-commit's manifest check) where
those tools are installed."""

import shutil
import subprocess

import pytest
import yaml

from .conftest import ROOT

GITHUB = ROOT / "templates" / "ci" / "github" / "pbxctl.yml"
GITLAB = ROOT / "templates" / "ci" / "gitlab" / "pbxctl.gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"


def _steps(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_github_validates_always_plans_pull_requests_applies_main():
    jobs = yaml.safe_load(GITHUB.read_text())["jobs"]
    assert "if" not in jobs["validate"] and "pbxctl validate" in _steps(jobs["validate"])
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert "--detailed-exitcode" in _steps(jobs["plan"]) and "GITHUB_STEP_SUMMARY" in _steps(jobs["plan"])
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in jobs["plan"]["steps"])
    assert "refs/heads/main" in jobs["apply"]["if"]
    for name in ("plan", "apply"):
        assert "--frozen-secrets" in _steps(jobs[name])  # CI never generates a secret it would lose
        assert "secrets.PBXCTL_VAULT_PASSWORD" in GITHUB.read_text()
        assert "PBXCTL_VAULT_PASSWORD_FILE" in _steps(jobs[name])


def test_gitlab_validates_always_plans_merge_requests_applies_the_default_branch():
    pipeline = yaml.safe_load(GITLAB.read_text())
    assert "rules" not in pipeline["validate"]
    assert pipeline["plan"]["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert {"plan.txt", "plan.json"} <= set(pipeline["plan"]["artifacts"]["paths"])
    assert "$CI_DEFAULT_BRANCH" in pipeline["apply"]["rules"][0]["if"]
    for name in ("plan", "apply"):
        # GitLab flattens a nested list (the &credentials anchor) into the script
        script = "\n".join(line for item in pipeline[name]["script"] for line in (
            item if isinstance(item, list) else [item]))
        assert "--frozen-secrets" in script and "PBXCTL_VAULT_PASSWORD_FILE" in script


def test_the_pre_commit_hook_validates_the_whole_repository():
    (hook,) = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "pbxctl-validate" and hook["entry"] == "pbxctl validate ."
    assert hook["pass_filenames"] is False  # a defaults file concerns every site extending it


@pytest.mark.parametrize(("schema", "path"), [("vendor.github-workflows", GITHUB), ("vendor.gitlab-ci", GITLAB)])
def test_the_templates_pass_their_ci_schemas(schema, path):
    tool = shutil.which("check-jsonschema")
    if not tool:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    run = subprocess.run([tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_hook_manifest_passes_pre_commit():
    tool = shutil.which("pre-commit")
    if not tool:
        pytest.skip("pre-commit is not installed")
    run = subprocess.run([tool, "validate-manifest", str(HOOKS)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
