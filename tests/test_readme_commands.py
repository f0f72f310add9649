"""The README's two commands, verbatim and in the order written, in one
fresh clone: the demo's install must not break the tests' install.

This runs the whole test suite a second time inside the clone (where this
test skips itself), so it is marked ``slow`` and runs last;
``python -m pytest -m "not slow"`` leaves it out. It checks the committed
tree (a clone), not uncommitted edits.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Set inside the clone's own test run, where this test must not recurse.
INNER = "GRAPHRNN_README_COMMANDS_INNER"

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    """The first two ```bash blocks of the README: the demo's command, then the tests'."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    return [b.strip() for b in blocks[:2]]


def clean_environment() -> dict[str, str]:
    """This process's environment without the virtualenv it runs in, as on a fresh machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if not p.startswith(venv))
    env[INNER] = "1"
    return env


def test_the_readme_starts_with_the_two_commands():
    """Both commands make their virtualenv, install the package the same
    way (editable) and then run the demo and the tests."""
    demo, tests = readme_commands()
    assert demo.startswith("python3 -m venv .venv") and demo.endswith("graphrnn demo")
    assert tests.startswith("python3 -m venv .venv") and tests.endswith("python -m pytest -q")
    assert "pip install -q -e " in demo and "pip install -q -e " in tests


@pytest.mark.skipif(bool(os.environ.get(INNER)), reason="this is the README commands' own test run")
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout to clone")
def test_both_readme_commands_pass_in_order_in_one_fresh_clone(tmp_path):
    """The demo command runs and writes its picture; the test command then
    passes in the same clone and virtualenv."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = clean_environment()
    demo, tests = readme_commands()

    ran = subprocess.run(["bash", "-c", demo], cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    assert ran.returncode == 0, f"the demo command failed:\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    assert (clone / "graphrnn_demo.png").stat().st_size > 0

    ran = subprocess.run(["bash", "-c", tests], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in ran.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else ""
    assert ran.returncode == 0, f"the test command failed ({summary}):\n{ran.stdout[-4000:]}\n{ran.stderr[-2000:]}"
    assert re.search(r"\b\d+ passed\b", summary) and not re.search(r"failed|error", summary), summary
