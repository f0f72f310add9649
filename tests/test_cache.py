"""The on-disk kernel cache: on by default, off with ``GRAPHRNN_CACHE=0``."""

import os
import subprocess
import sys

import pytest

PROBE = (
    "import simulator._kernels as k; from simulator._kernels.forward import run_sync_serial as f; "
    "print(k.CACHE, type(f._cache).__name__)"
)


@pytest.mark.parametrize("value, expected", [(None, "True FunctionCache"), ("0", "False NullCache"),
                                             ("off", "False NullCache"), ("1", "True FunctionCache")])
def test_cache_switch(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "GRAPHRNN_CACHE"}
    if value is not None:
        env["GRAPHRNN_CACHE"] = value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_an_edit_to_any_kernel_source_drops_the_whole_cache(tmp_path):
    """Numba checks a cached kernel only against its own file; the digest of
    every source drops all cached kernels when any source changes (an
    inlined helper included), and only then."""
    from simulator._kernels import refresh_cache

    sources = [tmp_path / "kernel.py", tmp_path / "helper.py"]
    for p in sources:
        p.write_text("x = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    stamp = cache / "sources.sha256"
    assert refresh_cache(sources, [cache], stamp)  # no stamp yet
    (cache / "kernel.f-1.py311.nbi").write_text("index")
    (cache / "kernel.f-1.py311.1.nbc").write_text("code")
    (cache / "kernel.cpython-311.pyc").write_text("bytecode")
    assert not refresh_cache(sources, [cache], stamp)
    assert len(list(cache.glob("*.nb[ic]"))) == 2
    sources[1].write_text("x = 2\n")  # the helper changes, not the kernel's own file
    assert refresh_cache(sources, [cache], stamp)
    assert sorted(p.name for p in cache.iterdir()) == ["kernel.cpython-311.pyc", "sources.sha256"]
    assert not refresh_cache(sources, [cache], stamp)
