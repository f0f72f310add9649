"""The results of a sweep, gathered into an ``xarray.Dataset`` or a ``pandas.DataFrame``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._optional import need
from ._plan import Plan
from ._point import Outcome

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas
    import xarray


def consolidate(plan: Plan, outcomes: dict[int, Outcome]) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """The shape of each returned value (from the first point, in numbering
    order, that returned it) and the error of every point, with a note added
    where a value's shape differs from that."""
    shapes: dict[str, tuple[int, ...]] = {}
    errors = []
    for i in range(plan.n_points):
        out = outcomes[i]
        error = out.error
        for k, v in out.values.items():
            shape = shapes.setdefault(k, v.shape)
            if v.shape != shape:
                note = f"`fn` returned {k!r} with shape {v.shape} here, {shape} at the first point that gave it"
                error = f"{error}; {note}" if error else note
        errors.append(error)
    return shapes, errors


def to_dataset(plan: Plan, outcomes: dict[int, Outcome], shapes: dict[str, tuple[int, ...]], errors: list[str],
               name: str) -> xarray.Dataset:
    """The Dataset `sweep` returns (see there), from `consolidate`'s shapes and errors."""
    xr = need("xarray")
    data = {k: np.full(plan.shape + shape, np.nan) for k, shape in shapes.items()}
    error = np.full(plan.shape, "", dtype=object)
    for i in range(plan.n_points):
        at = plan.position(i)
        error[at] = errors[i]
        for k, v in outcomes[i].values.items():
            if v.shape == shapes[k]:
                data[k][at] = v
    coords = {n: (n, np.asarray(a)) for n, a in zip(plan.names, plan.axes)}
    if plan.seeds is not None:
        coords["seed"] = ("seed", np.asarray(plan.seeds))
    variables = {k: (plan.dims + tuple(f"{k}_dim{j}" for j in range(len(shapes[k]))), a) for k, a in data.items()}
    variables["error"] = (plan.dims, error.astype(str))
    attrs = {"fn": name, "n_points": plan.n_points, "n_failed": sum(bool(e) for e in errors)}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def to_dataframe(plan: Plan, outcomes: dict[int, Outcome], shapes: dict[str, tuple[int, ...]],
                 errors: list[str]) -> pandas.DataFrame:
    """One row per point: parameters, seed, values (floats or arrays), error."""
    pd = need("pandas")
    rows = []
    for i in range(plan.n_points):
        params, seed = plan.point(i)
        row: dict[str, Any] = dict(params)
        if seed is not None:
            row["seed"] = seed
        values = outcomes[i].values
        for k in shapes:
            v = values.get(k)
            row[k] = np.nan if v is None else (float(v) if v.ndim == 0 else v)
        row["error"] = errors[i]
        rows.append(row)
    return pd.DataFrame(rows, columns=[*plan.dims, *shapes, "error"])
