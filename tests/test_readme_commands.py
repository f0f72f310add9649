"""The README's two commands, verbatim and in the order written, in one
fresh clone: the demo's install must not break the tests' install.

This runs the whole test suite a second time inside the clone (where this
test skips itself), so it is marked ``slow``; ``python -m pytest -m "not
slow"`` leaves it out. Where a second core can take it, the clone's run
starts in the background as soon as the test is selected
(`start_in_background`, from ``conftest.py``) and overlaps the rest of the
suite; the test itself runs last and waits for it. Run after the suite, the
clone's run doubled the README's test command (480 of 882 s on two cores,
kernels compiled; overlapped, 569 s; on a cold cache, 1666 s with both
compiling). On one core it still starts last, once the suite has compiled
the kernels. Either way the clone compiles into and loads from a copy of
this process's kernel cache, its own: two processes compiling into one
Numba cache at once can leave its index naming the other's machine code
(numba/numba#10128). It checks the committed tree (a clone), not
uncommitted edits.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from simulator._kernels import cache

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Set inside the clone's own test run, where this test must not recurse.
INNER = "GRAPHRNN_README_COMMANDS_INNER"

pytestmark = pytest.mark.slow

#: Seconds each command may take in the clone.
TIMEOUTS = {"demo": 1200, "tests": 1800}


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


def kernel_cache() -> Path:
    """The folder this process compiles its kernels into and loads them from."""
    return cache.kernel_folder(cache.cache_base(), cache.SOURCES)


def reason_to_skip() -> str:
    """Why the clone's run cannot happen here ("" where it can)."""
    if os.environ.get(INNER):
        return "this is the README commands' own test run"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return "needs git and a git checkout to clone"
    return ""


def copy_kernels(source: Path, target: Path) -> None:
    """Copy a kernel cache folder: the machine code first, then the indexes
    that name it. Numba replaces each file whole, so an index copied while
    this process compiles names at worst code that was not copied, which the
    clone compiles again."""
    target.mkdir(parents=True)
    for pattern in ("*.nbc", "*.nbi"):
        for file in source.glob(pattern):
            try:
                shutil.copy2(file, target / file.name)
            except OSError:  # replaced or removed meanwhile
                pass


class CloneRun:
    """The README's two commands in order in one fresh clone, on a thread:
    each command's return code, stdout and stderr in `results` by name
    ("demo", "tests"; the tests only after a demo that passed), or the
    exception that stopped the thread in `error`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="graphrnn-readme-"))
        self.results: dict[str, tuple[int, str, str]] = {}
        self.error: BaseException | None = None
        self.process: subprocess.Popen | None = None
        self.stopped = False
        self.lock = threading.Lock()  # no command starts once `stop` has begun
        self.thread = threading.Thread(target=self.run, name="README commands", daemon=True)
        self.thread.start()

    @property
    def clone(self) -> Path:
        return self.folder / "clone"

    def run(self) -> None:
        try:
            subprocess.run(["git", "clone", "-q", str(ROOT), str(self.clone)], check=True)
            env = clean_environment()
            # the kernels this process has compiled so far, which a clone of the same sources reads, in a
            # cache of the clone's own (on a cold cache the two compile side by side, each into its own)
            ours = kernel_cache()
            copy_kernels(ours, self.folder / "cache" / "graphrnn" / ours.name)
            env["NUMBA_CACHE_DIR"] = str(self.folder / "cache")
            for name, command in zip(("demo", "tests"), readme_commands()):
                with self.lock:
                    if self.stopped:
                        return
                    # a session of its own, so that `kill` ends the command's children too
                    self.process = subprocess.Popen(["bash", "-c", command], cwd=self.clone, env=env, text=True,
                                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                    start_new_session=True)
                out, err = self.process.communicate(timeout=TIMEOUTS[name])
                self.results[name] = (self.process.returncode, out, err)
                if self.process.returncode != 0:
                    return
        except BaseException as error:  # reported by the test, not lost on the thread
            self.error = error
            self.kill()

    def kill(self) -> None:
        """End the command running, if one is, with its children."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        """End a command still running (the session is over) and remove the clone."""
        with self.lock:
            self.stopped = True
            self.kill()
        self.thread.join(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


#: The one run of this session, once started.
RUNS: list[CloneRun] = []


def start_in_background() -> None:
    """Start the clone's run now where a second core can take it
    (`conftest.pytest_collection_finish`); on one core the test below
    starts it, once the suite has compiled the kernels it copies."""
    if usable_cores() > 1:
        start()


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start() -> None:
    """Start the clone's run (once a session), where it can run."""
    if not RUNS and not reason_to_skip():
        RUNS.append(CloneRun())


def stop_background() -> None:
    """End and remove this session's clone run, if any."""
    while RUNS:
        RUNS.pop().stop()


@pytest.mark.skipif(bool(reason_to_skip()), reason=reason_to_skip())
def test_both_readme_commands_pass_in_order_in_one_fresh_clone():
    """The demo command runs and writes its picture; the test command then
    passes in the same clone and virtualenv."""
    start()  # running already, unless on one core or this test was the only one selected
    run = RUNS[0]
    run.thread.join(timeout=sum(TIMEOUTS.values()) + 300)
    if run.error is not None:
        raise run.error
    assert not run.thread.is_alive(), "the README commands did not finish"

    code, out, err = run.results["demo"]
    assert code == 0, f"the demo command failed:\n{out[-3000:]}\n{err[-3000:]}"
    assert (run.clone / "graphrnn_demo.png").stat().st_size > 0

    code, out, err = run.results["tests"]
    lines = [line for line in out.splitlines() if line.strip()]
    summary = lines[-1] if lines else ""
    assert code == 0, f"the test command failed ({summary}):\n{out[-4000:]}\n{err[-2000:]}"
    assert re.search(r"\b\d+ passed\b", summary) and not re.search(r"failed|error", summary), summary
