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
