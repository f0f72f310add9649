"""The checkpoint of a sweep: its finished points, one JSON line each (the format is
described in `simulator.sweeps`)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._plan import Plan
from ._point import Outcome, fn_name

#: First-line tag of a checkpoint file.
CHECKPOINT_FORMAT = "graphrnn.sweep/1"


class CheckpointError(ValueError):
    """A checkpoint file that does not belong to this sweep or is damaged.

    The file is left as it is; pass another path or delete it.
    """

    __module__ = "simulator.sweeps"  # its public home, named in tracebacks


def encode_values(values: dict[str, np.ndarray]) -> dict:
    """Values for a checkpoint line: a float, or ``{"shape": [...], "data": [...]}``."""
    return {k: float(v) if v.ndim == 0 else {"shape": list(v.shape), "data": v.ravel().tolist()}
            for k, v in values.items()}


def decode_values(raw: Any) -> dict[str, np.ndarray]:
    """Inverse of `encode_values`; ValueError on anything malformed."""
    if not isinstance(raw, dict):
        raise ValueError("`values` is not an object")
    out = {}
    for k, v in raw.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = np.array(v, dtype=np.float64)
        elif isinstance(v, dict) and set(v) == {"shape", "data"} and isinstance(v["data"], list) \
                and isinstance(v["shape"], list) and all(isinstance(d, int) and d >= 0 for d in v["shape"]) \
                and math.prod(v["shape"]) == len(v["data"]) \
                and all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in v["data"]):
            out[k] = np.array(v["data"], dtype=np.float64).reshape(v["shape"])
        else:
            raise ValueError(f"value {k!r} is neither a number nor a {{shape, data}} array")
    return out


class Checkpoint:
    """An append-only JSON-lines record of finished points (see `simulator.sweeps`).

    Opening an existing file validates all of it: a header from another sweep,
    a line that is not valid JSON, a point that does not match this sweep's
    numbering, a point listed again after it went well (a failed point is
    listed again when a later sweep reruns it; its last line holds) -- each
    raises `CheckpointError` and the
    file is left untouched. The one tolerated damage is a last line without
    its newline (the writer stopped mid-line): it is cut off, with a warning,
    and its point runs again.
    """

    def __init__(self, path: str | os.PathLike, plan: Plan, fn: Callable):
        self.path = Path(path)
        self.plan = plan
        self.header = {"format": CHECKPOINT_FORMAT, "fn": fn_name(fn), "grid": plan.spec,
                       "seeds": None if plan.seeds is None else list(plan.seeds)}
        body = json.dumps([self.header["fn"], plan.spec, self.header["seeds"]], sort_keys=True)
        self.header["token"] = hashlib.sha256(body.encode()).hexdigest()[:16]
        self.done: dict[int, Outcome] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            self._read()
            self._file = open(self.path, "a", encoding="utf-8")
        else:
            self._file = open(self.path, "w", encoding="utf-8")
            self._write(self.header)

    def _refuse(self, why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {str(self.path)!r} {why}; it was left untouched: "
                               "pass another `checkpoint` path or delete the file")

    def _read(self) -> None:
        data = self.path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise self._refuse("is not UTF-8 text, so not a sweep checkpoint") from None
        *lines, torn = text.split("\n")
        if not lines:
            raise self._refuse("has no complete first line (no sweep header)")
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != CHECKPOINT_FORMAT:
            raise self._refuse(f"does not start with a {CHECKPOINT_FORMAT!r} header, so it is not a sweep checkpoint")
        if header.get("token") != self.header["token"]:
            differ = [k for k in ("fn", "grid", "seeds") if header.get(k) != self.header[k]]
            shown = "; ".join(f"{k} there {header.get(k)!r}, here {self.header[k]!r}" for k in differ)
            raise self._refuse(f"belongs to a different sweep ({shown or 'token differs'})")
        where: dict[int, int] = {}
        for n, line in enumerate(lines[1:], start=2):
            try:
                index, outcome = self._parse(line)
            except (ValueError, TypeError, KeyError) as exc:
                raise self._refuse(f"is damaged at line {n}: {exc}") from None
            if index in where and not self.done[index].error:
                raise self._refuse(f"lists point {index} twice (lines {where[index]} and {n})")
            where[index] = n  # a point that failed may be listed again when it was rerun: the last line holds
            self.done[index] = outcome
        if torn:
            warnings.warn(f"checkpoint {str(self.path)!r}: its last line was cut off mid-write "
                          f"({len(torn)} characters); dropping it and running that point again", stacklevel=4)
            os.truncate(self.path, len(data) - len(torn.encode("utf-8")))

    def _parse(self, line: str) -> tuple[int, Outcome]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        if not isinstance(rec, dict) or set(rec) != {"index", "params", "seed", "values", "error"}:
            raise ValueError("expected an object with index, params, seed, values, error")
        index = rec["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.plan.n_points:
            raise ValueError(f"point index {index!r} is not in 0..{self.plan.n_points - 1}")
        params, seed = self.plan.point(index)
        if rec["params"] != params or rec["seed"] != seed:
            raise ValueError(f"point {index} should be ({self.plan.label(index)}), "
                             f"the line has params {rec['params']} and seed {rec['seed']}")
        if not isinstance(rec["error"], str):
            raise ValueError("`error` is not a string")
        return index, Outcome(decode_values(rec["values"]), rec["error"])

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record, allow_nan=True) + "\n")
        self._file.flush()

    def append(self, index: int, outcome: Outcome) -> None:
        """Record one finished point (flushed at once)."""
        params, seed = self.plan.point(index)
        self._write({"index": index, "params": params, "seed": seed,
                     "values": encode_values(outcome.values), "error": outcome.error})

    def close(self) -> None:
        self._file.close()
