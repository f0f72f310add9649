"""The on-disk kernel cache: a per-user folder keyed by the kernel sources'
digest, never the package's own folder; on by default, off with
``GRAPHRNN_CACHE=0``; ``NUMBA_CACHE_DIR`` moves it."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator._kernels.cache import SOURCES, cache_base, kernel_folder, prune

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"

PROBE = (
    "import simulator._kernels as k; from simulator._kernels.forward import run_sync_serial as f; "
    "print(k.CACHE, type(f._cache).__name__, getattr(f._cache, '_cache_path', ''))"
)


def probe(code: str, cwd: Path | None = None, **env: str | None) -> list[str]:
    """`code`'s printed words in a fresh process (in `cwd`) with `env` changed (None: unset)."""
    environ = dict(os.environ)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


@pytest.mark.parametrize("value, expected", [(None, ["True", "FunctionCache"]), ("0", ["False", "NullCache"]),
                                             ("off", ["False", "NullCache"]), ("1", ["True", "FunctionCache"])])
def test_cache_switch(value, expected):
    """GRAPHRNN_CACHE turns the on-disk cache on (default) or off."""
    assert probe(PROBE, GRAPHRNN_CACHE=value)[:2] == expected


def test_kernels_are_cached_in_the_user_folder_not_beside_the_package(tmp_path):
    """A run compiles into $XDG_CACHE_HOME/graphrnn/kernels-<digest> and
    leaves no cache file in the package's folders (which would outlive an
    uninstall and shadow a later install)."""
    code = ("import numpy as np, simulator as sim, topologies as tp; "
            "sim.run(sim.compile(tp.four_neuron()), np.zeros((3, 2))); " + PROBE)
    before = set(PACKAGE.rglob("*.nb[ic]"))
    words = probe(code, XDG_CACHE_HOME=str(tmp_path), NUMBA_CACHE_DIR=None, GRAPHRNN_CACHE=None)
    folder = Path(words[2])
    assert folder.parent == tmp_path / "graphrnn" and folder.name.startswith("kernels-")
    assert folder == kernel_folder(tmp_path, SOURCES)
    assert any(folder.glob("forward.run_sync_serial-*.nbi")) and any(folder.glob("*.nbc"))
    assert set(PACKAGE.rglob("*.nb[ic]")) == before == set()


def test_numba_cache_dir_moves_the_cache(tmp_path):
    """NUMBA_CACHE_DIR, when set, is the base of the keyed folder."""
    folder = Path(probe(PROBE, NUMBA_CACHE_DIR=str(tmp_path), GRAPHRNN_CACHE=None)[2])
    assert folder == kernel_folder(tmp_path, SOURCES)


def test_cache_base_order(tmp_path):
    """NUMBA_CACHE_DIR first, then XDG_CACHE_HOME, then ~/.cache."""
    assert cache_base({"NUMBA_CACHE_DIR": "/a", "XDG_CACHE_HOME": "/b"}) == Path("/a")
    assert cache_base({"XDG_CACHE_HOME": "/b"}) == Path("/b")
    assert cache_base({}) == Path.home() / ".cache"


def test_the_folder_changes_with_any_source_and_only_then(tmp_path):
    """An edit to any source (an inlined helper, not only the kernel's own
    file) gives a new folder, so no stale code is served; identical sources
    in two checkouts share one."""
    sources = []
    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        sources.append([tmp_path / where / "kernel.py", tmp_path / where / "helper.py"])
        for p in sources[-1]:
            p.write_text("x = 1\n")
    base = tmp_path / "cache"
    first = kernel_folder(base, sources[0])
    assert first == kernel_folder(base, sources[1])
    sources[0][1].write_text("x = 2\n")  # the helper changes, not the kernel's own file
    assert kernel_folder(base, sources[0]) != first
    assert kernel_folder(base, sources[1]) == first


def test_prune_keeps_the_newest_and_any_in_use(tmp_path):
    """Beyond the `keep` most recently used folders, those idle for longer
    than `idle` are removed; the current one and any used recently stay."""
    now = time.time()
    ages = {"kernels-current": 0, "kernels-a": 10, "kernels-b": 20, "kernels-c": 5000, "kernels-d": 9000,
            "kernels-busy": 30}
    for name, age in ages.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.nbi").write_text("index")
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "not-a-kernel-folder").mkdir()
    removed = prune(tmp_path / "kernels-current", keep=2, idle=1000)
    assert sorted(p.name for p in removed) == ["kernels-c", "kernels-d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernels-a", "kernels-b", "kernels-busy",
                                                         "kernels-current", "not-a-kernel-folder"]


def test_a_fresh_copy_of_the_same_sources_loads_the_compiled_kernels(tmp_path):
    """Two checkouts of the same sources (as a fresh clone beside the working
    tree: other paths, other modification times) share the compiled kernels:
    the second process loads them from the cache and compiles nothing."""
    root = PACKAGE.parent
    code = ("import numpy as np, networkx as nx, simulator as sim; "
            "from simulator._kernels.forward import run_sync_serial as f; "
            "g = nx.DiGraph([('x', 'h'), ('h', 'h'), ('h', 'y')]); "
            "g.nodes['x']['role'] = 'input'; g.nodes['y']['role'] = 'output'; "
            "sim.run(sim.compile(g), np.zeros((3, 1))); "
            "print(sim.__file__, sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values()))")
    words = []
    for where in ("first", "second"):
        checkout = tmp_path / where
        for package in ("simulator", "topologies"):
            shutil.copytree(root / package, checkout / package, copy_function=shutil.copy,
                            ignore=shutil.ignore_patterns("__pycache__"))
        time.sleep(0.01)  # the copies' modification times differ
        words.append(probe(code, cwd=checkout, NUMBA_CACHE_DIR=str(tmp_path / "cache"), GRAPHRNN_CACHE=None))
    assert [Path(w[0]).parents[1] for w in words] == [tmp_path / "first", tmp_path / "second"]
    assert words[0][1:] == ["0", "1"]  # compiled in the first checkout
    assert words[1][1:] == ["1", "0"]  # loaded in the second
