"""The points of a sweep: `grid` and `seeds` checked and numbered."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Plan:
    """The points of a sweep, in the order they are numbered.

    Point ``i`` is grid point ``i // n_seeds`` with seed ``seeds[i % n_seeds]``
    (seeds vary fastest); without seeds, point ``i`` is grid point ``i``.

    Attributes
    ----------
    names : tuple of str
        Swept parameters, in the order of the Dataset's dimensions.
    axes : tuple of tuple
        Coordinate values of each parameter (for a list of points: the
        distinct values, in order of first appearance).
    params : tuple of dict
        One dict of keyword arguments per grid point.
    where : tuple of tuple of int
        Position of each grid point on `axes`.
    seeds : tuple of int or None
    spec : dict
        JSON-able description of the grid (for the checkpoint header).
    """

    names: tuple[str, ...]
    axes: tuple[tuple, ...]
    params: tuple[dict, ...]
    where: tuple[tuple[int, ...], ...]
    seeds: tuple[int, ...] | None
    spec: dict = field(compare=False)

    @property
    def n_seeds(self) -> int:
        return len(self.seeds) if self.seeds is not None else 1

    @property
    def n_points(self) -> int:
        """Calls of the function: grid points times seeds."""
        return len(self.params) * self.n_seeds

    def point(self, i: int) -> tuple[dict, int | None]:
        """Keyword arguments and seed of point `i`."""
        p, s = divmod(i, self.n_seeds)
        return self.params[p], (None if self.seeds is None else self.seeds[s])

    def position(self, i: int) -> tuple[int, ...]:
        """Index of point `i` in the Dataset's parameter (and seed) dimensions."""
        p, s = divmod(i, self.n_seeds)
        return self.where[p] + (() if self.seeds is None else (s,))

    @property
    def dims(self) -> tuple[str, ...]:
        return self.names + (() if self.seeds is None else ("seed",))

    @property
    def taken(self) -> tuple[str, ...]:
        """Names a returned value may not have: the dimensions and ``error``."""
        return self.dims + ("error",)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes) + (() if self.seeds is None else (len(self.seeds),))

    def label(self, i: int) -> str:
        """``rho=0.9, leak=0.3, seed=1`` for point `i`."""
        params, seed = self.point(i)
        items = [f"{k}={v!r}" for k, v in params.items()] + ([] if seed is None else [f"seed={seed}"])
        return ", ".join(items)


def _grid_value(name: str, value: Any) -> bool | int | float | str:
    """A grid value as a plain Python scalar; TypeError for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            raise ValueError(f"`grid[{name!r}]` holds NaN: a coordinate must equal itself")
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(
        f"`grid[{name!r}]` holds {value!r} of type {type(value).__name__}: grid values must be numbers "
        "or strings (to sweep over objects, sweep their names and look them up inside `fn`)"
    )


def _check_name(name: Any, reserved: tuple[str, ...]) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"parameter names must be identifiers (they are passed as keywords), got {name!r}")
    if name in reserved:
        raise ValueError(f"parameter name {name!r} is reserved in a sweep with these arguments; rename it")
    return name


def _check_seeds(seeds: Any) -> tuple[int, ...] | None:
    if seeds is None:
        return None
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        if seeds < 1:
            raise ValueError(f"`seeds` must be a positive count or a list of ints, got {seeds!r}")
        return tuple(range(int(seeds)))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
        raise TypeError(f"`seeds` must be a count or a list of ints, got {type(seeds).__name__}")
    out = []
    for s in seeds:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"`seeds` must hold ints, got {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("`seeds` is empty: give a count or at least one seed")
    if len(set(out)) != len(out):
        raise ValueError(f"`seeds` repeats a seed: {out}")
    return tuple(out)


def make_plan(grid: Any, seeds: Any = None) -> Plan:
    """Validate `grid` and `seeds` and number the points.

    Parameters
    ----------
    grid : dict of list, or list of dict
        See `sweep`.
    seeds : int or list of int, optional
        See `sweep`.

    Returns
    -------
    Plan

    Raises
    ------
    TypeError
        A grid that is neither a dict of lists nor a list of dicts, a value
        that is not a list, a grid value that is not a number or string.
    ValueError
        An empty grid or value list, a repeated value or point, points with
        different parameters, a reserved parameter name.

    Examples
    --------
    >>> plan = make_plan({"rho": [0.8, 1.2], "leak": [0.1, 0.5, 1.0]}, seeds=2)
    >>> plan.n_points, plan.dims, plan.shape
    (12, ('rho', 'leak', 'seed'), (2, 3, 2))
    >>> plan.label(7)
    'rho=1.2, leak=0.1, seed=1'
    """
    seeds = _check_seeds(seeds)
    reserved = ("error",) if seeds is None else ("error", "seed")
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("`grid` is empty: give at least one parameter with a list of values, "
                             "e.g. {'n': [200]} for an ensemble over seeds alone")
        names, axes = [], []
        for name, values in grid.items():
            _check_name(name, reserved)
            if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray, range)):
                raise TypeError(f"`grid[{name!r}]` must be a list of values, got {type(values).__name__} "
                                f"{values!r}; write [{values!r}] for a single value")
            if isinstance(values, np.ndarray) and values.ndim != 1:
                raise ValueError(f"`grid[{name!r}]` must be 1-dimensional, got shape {values.shape}")
            axis = [_grid_value(name, v) for v in values]
            if not axis:
                raise ValueError(f"`grid[{name!r}]` is empty: give at least one value")
            if len(set(axis)) != len(axis):
                raise ValueError(f"`grid[{name!r}]` repeats a value: {axis}")
            names.append(name)
            axes.append(tuple(axis))
        params = tuple(dict(zip(names, combo)) for combo in itertools.product(*axes))
        where = tuple(itertools.product(*(range(len(a)) for a in axes)))
        spec = {"product": [[n, list(a)] for n, a in zip(names, axes)]}
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if not grid:
            raise ValueError("`grid` is empty: give at least one point")
        points = []
        for k, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise TypeError(f"`grid` as a list must hold dicts of parameters, item {k} is "
                                f"{type(point).__name__} {point!r}")
            if k == 0:
                names = [_check_name(n, reserved) for n in point]
                if not names:
                    raise ValueError("`grid[0]` has no parameters: every point needs at least one")
            elif set(point) != set(names):
                raise ValueError(f"every point of `grid` must have the parameters {names}; "
                                 f"item {k} has {list(point)}")
            points.append(tuple(_grid_value(n, point[n]) for n in names))
        seen: dict[tuple, int] = {}
        for k, values in enumerate(points):
            if values in seen:
                raise ValueError(f"`grid` lists the point {dict(zip(names, values))} twice "
                                 f"(items {seen[values]} and {k})")
            seen[values] = k
        axes = [tuple(dict.fromkeys(col)) for col in zip(*points)]
        index = [{v: j for j, v in enumerate(a)} for a in axes]
        params = tuple(dict(zip(names, values)) for values in points)
        where = tuple(tuple(ix[v] for ix, v in zip(index, values)) for values in points)
        spec = {"names": names, "points": [list(v) for v in points]}
    else:
        raise TypeError("`grid` must be a dict of lists (every combination) or a list of dicts "
                        f"(these points), got {type(grid).__name__}")
    return Plan(tuple(names), tuple(axes), params, where, seeds, spec)
