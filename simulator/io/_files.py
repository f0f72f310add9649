"""`save` and `load`: the format chosen by the extension, files written atomically."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
from collections.abc import Callable
from typing import IO

from ..network import Network
from ..results import Result
from ._errors import FileFormatError, _Problem
from ._graphml import _read_graphml, _write_graphml
from ._nodelink import _read_node_link, _write_node_link
from ._npz import _network_record, _read_npz, _result_record, _write_npz

#: Supported extensions and what each holds.
EXTENSIONS: dict[str, str] = {
    ".npz": "Network or Result",
    ".graphml": "Network",
    ".json": "Network",
}


def _path_and_extension(path: str | os.PathLike) -> tuple[str, str]:
    path = os.fsdecode(os.fspath(path))
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        valid = ", ".join(f"{e} ({what})" for e, what in EXTENSIONS.items())
        raise ValueError(f"`path` must end in one of {valid}; got {path!r}")
    return path, ext


def _write_atomic(path: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write through `write` into a new file beside `path`, then move it over `path`.

    A failure at any point leaves `path` as it was and removes the new file.
    """
    target = os.path.realpath(path)
    directory, base = os.path.split(target)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            # Name the user's path, not the temporary file.
            if not os.path.isdir(directory):
                folder = os.path.dirname(path) or os.curdir
                raise FileNotFoundError(errno.ENOENT, f"cannot save: the folder {folder!r} does not exist",
                                        path) from None
            raise type(exc)(exc.errno, f"cannot save: {exc.strerror}", path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save(obj: Network | Result, path: str | os.PathLike) -> None:
    """Save a network or a result to `path`, in the format its extension names.

    Parameters
    ----------
    obj : Network or Result
        What to save. A `Result` goes to ``.npz`` only; its network is saved
        with it.
    path : str or os.PathLike
        Ends in ``.npz``, ``.graphml`` or ``.json`` (node-link). The file is
        written beside `path` under a temporary name and then moved over it,
        so a failed save never leaves a half-written file in its place.

    Raises
    ------
    TypeError
        If `obj` is not a Network or Result, or carries an attribute value of
        a type no file can hold (the message names it).
    ValueError
        For an unknown extension (the message lists the supported ones), a
        Result to GraphML or JSON, or an attribute name that is not a string
        in GraphML or JSON, or a node name that holds a NaN in GraphML or
        JSON (NaN never equals itself, so the node could not be looked up once
        loaded; ``.npz`` keeps it).
    FileNotFoundError
        If the folder of `path` does not exist (the message names `path`).

    See Also
    --------
    load

    Examples
    --------
    >>> import os, tempfile
    >>> import networkx as nx
    >>> import simulator as sim
    >>> from simulator.io import save, load
    >>> G = nx.DiGraph([("x", "h"), ("h", "h"), ("h", "y")])
    >>> G.nodes["h"]["pos"] = (0.5, 1.0)
    >>> net = sim.compile(G, inputs=["x"], outputs=["y"], dtype="float32")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("net.npz", "net.graphml", "net.json"):
    ...         save(net, os.path.join(tmp, name))
    ...     sorted(os.listdir(tmp))
    ['net.graphml', 'net.json', 'net.npz']
    """
    if not isinstance(obj, (Network, Result)):
        raise TypeError(f"`obj` must be a Network or Result, got {type(obj).__name__}")
    path, ext = _path_and_extension(path)
    if isinstance(obj, Result):
        if ext != ".npz":
            raise ValueError(f"a Result is saved to .npz only, got {path!r}; "
                             f"save `result.network` to {ext} for its graph alone")
        header, arrays = _result_record(obj)
        write = lambda f: _write_npz(f, header, arrays)  # noqa: E731
    elif ext == ".npz":
        header, arrays = _network_record(obj)
        write = lambda f: _write_npz(f, header, arrays)  # noqa: E731
    else:
        # Encode in memory first: an unsavable value fails before any file is touched.
        buffer = io.BytesIO()
        (_write_graphml if ext == ".graphml" else _write_node_link)(buffer, obj)
        content = buffer.getvalue()
        write = lambda f: f.write(content)  # noqa: E731
    _write_atomic(path, write)


def load(path: str | os.PathLike) -> Network | Result:
    """Load a network or a result saved by `save`.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz``, ``.graphml`` or node-link ``.json`` file. A GraphML or
        JSON graph written by other tools (without graphrnn's description) is
        compiled with `simulator.compile`: roles from ``role`` attributes,
        float64.

    Returns
    -------
    Network or Result
        Whatever the file holds, identical to what was saved: names of the
        same types, the same order of neurons, inputs, outputs and edges,
        parameters bit for bit, activations and attributes.

    Raises
    ------
    FileFormatError
        (a ValueError) If the file is corrupt, truncated, not a graphrnn
        file, or written in a newer format version; the message names the
        file and the fault.
    ValueError
        For an unknown extension.
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, networkx as nx
    >>> import simulator as sim
    >>> from simulator.io import save, load
    >>> G = nx.DiGraph([(0, 1), (1, 1), (1, 2)])
    >>> net = sim.compile(G, inputs=[0], outputs=[2])
    >>> res = sim.run(net, np.ones((3, 1)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(net, os.path.join(tmp, "net.graphml"))
    ...     save(res, os.path.join(tmp, "run.npz"))
    ...     again = load(os.path.join(tmp, "net.graphml"))
    ...     res2 = load(os.path.join(tmp, "run.npz"))
    >>> again.neurons, again.inputs, list(again.edges)
    ((1,), (0,), [(0, 1), (1, 1), (1, 2)])
    >>> np.array_equal(res2.states, res.states), res2.network.outputs
    (True, (2,))
    """
    path, ext = _path_and_extension(path)
    with open(path, "rb") as f:
        data = f.read()
    reader = {".npz": _read_npz, ".graphml": _read_graphml, ".json": _read_node_link}[ext]
    try:
        return reader(data)
    except _Problem as exc:
        raise FileFormatError(f"cannot load {path!r}: {exc}") from None
    except (TypeError, KeyError, IndexError, AttributeError) as exc:
        # A description whose parts have the wrong JSON types.
        raise FileFormatError(f"cannot load {path!r}: its content is malformed "
                              f"({type(exc).__name__}: {exc})") from exc
