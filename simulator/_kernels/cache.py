"""Where the compiled kernels are kept on disk: a per-user folder keyed by
the digest of the kernel sources, never the installed package's own folder.

Numba's default keeps a kernel's machine code in the ``__pycache__`` folder
beside its source. For a package installed into ``site-packages`` that
folder is not one of the installed files, so uninstalling leaves it behind,
and the leftover ``simulator/`` folder then shadows a later (editable)
install as an empty namespace package. Numba also checks a cached kernel
only against its own source file, not against the helpers it inlines from
the others, so an edit to a helper would keep serving stale code.

Both are avoided by caching this package's kernels in ::

    <base>/graphrnn/kernels-<digest>/

where ``<digest>`` hashes every kernel source (and the Numba and Python
versions), so an edited or upgraded package gets a folder of its own and
two checkouts of the same sources share one. ``<base>`` is
``NUMBA_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME`` (``~/.cache`` when
unset). Folders of other digests are removed once more than
`KEEP` are present and they have not been used for an hour. Set
``GRAPHRNN_CACHE=0`` to compile afresh in every process. Where no folder
can be written, Numba's own places are used as before.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numba
from numba.core import caching
from numba.core.caching import _CacheLocator, _SourceFileBackedLocatorMixin

#: Numba's base of cache implementations, whose locator list is searched in order
#: (``CacheImpl`` in newer Numba, ``_CacheImpl`` in older).
_CACHE_IMPL = getattr(caching, "CacheImpl", None) or caching._CacheImpl

#: Whether compiled kernels are cached on disk (default on). Set the
#: environment variable ``GRAPHRNN_CACHE=0`` before importing `simulator` to
#: compile afresh in every process.
CACHE: bool = os.environ.get("GRAPHRNN_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")

#: How many kernel folders (the newest used) survive a prune.
KEEP = 4

#: The files that hold cached kernels and the helpers they inline (no
#: kernel imports from outside this folder), hashed into the folder's name.
SOURCES = sorted(Path(__file__).resolve().parent.glob("*.py"))


def cache_base(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder under which ``graphrnn/kernels-<digest>`` lives:
    ``NUMBA_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    if environ.get("NUMBA_CACHE_DIR"):
        return Path(environ["NUMBA_CACHE_DIR"])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"])
    return Path.home() / ".cache"


def kernel_folder(base: Path, sources: list[Path]) -> Path:
    """``base/graphrnn/kernels-<digest>``, the digest of `sources`' bytes and
    of the Numba and Python versions (16 hex digits)."""
    h = hashlib.sha256(f"numba {numba.__version__} python {sys.version}".encode())
    for p in sources:
        h.update(p.read_bytes())
    return base / "graphrnn" / f"kernels-{h.hexdigest()[:16]}"


def prune(folder: Path, keep: int = KEEP, idle: float = 3600.0) -> list[Path]:
    """Remove the sibling ``kernels-*`` folders of `folder` beyond the `keep`
    most recently used (by modification time), sparing any used within
    `idle` seconds (another process may be loading from it); return those
    removed. `folder` itself is never removed."""
    others = sorted((p for p in folder.parent.glob("kernels-*") if p != folder and p.is_dir()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    removed = []
    for p in others[max(keep - 1, 0):]:
        if now - p.stat().st_mtime > idle:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def use(folder: Path) -> bool:
    """Make `folder` the cache of every kernel in `SOURCES`: create it
    (marking it used now), prune its old siblings when it is new, and put
    the locator ahead of Numba's own. Return False, changing nothing, where
    the folder cannot be written."""
    try:
        fresh = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        if fresh:
            prune(folder)
    except OSError:
        return False
    KernelLocator.folder = str(folder)
    if KernelLocator not in _CACHE_IMPL._locator_classes:
        _CACHE_IMPL._locator_classes.insert(0, KernelLocator)
    return True


class KernelLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Numba's cache locator for this package's kernels: every function
    defined in a file of `SOURCES` is cached in `folder`; any other
    function is left to Numba's own locators."""

    folder: str = ""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno

    def get_cache_path(self) -> str:
        return self.folder

    @classmethod
    def from_function(cls, py_func, py_file):
        if not cls.folder or Path(py_file).resolve() not in SOURCES:
            return None
        return super().from_function(py_func, py_file)


if CACHE:
    use(kernel_folder(cache_base(), SOURCES))
