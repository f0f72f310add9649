"""Running the points: in this process, or as Dask tasks on a cluster."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._optional import need
from ._plan import Plan
from ._point import call_chunk, call_point, describe, fn_name

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from distributed import Client


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_client(client: Any) -> None:
    """TypeError/ValueError for a `client` that `connect` could not use."""
    if client is None:
        return
    if isinstance(client, str):
        if client != "serial" and not re.fullmatch(r"[a-z0-9+]+://\S+|[\w.\-]+:\d+", client):
            raise ValueError(f"`client` must be 'serial' or a scheduler address such as "
                             f"'tcp://10.0.0.1:8786', got {client!r}")
        return
    distributed = need("distributed")
    if not (isinstance(client, distributed.Client) or hasattr(client, "scheduler_address")):
        raise TypeError("`client` must be None (a local cluster), a dask.distributed.Client, a cluster, "
                        f"a scheduler address such as 'tcp://10.0.0.1:8786', or 'serial'; got {client!r}")


@contextlib.contextmanager
def connect(client: Any, n_tasks: int, retries: int) -> Iterator[Client | None]:
    """The Dask client to run on (None: in this process), closed afterwards
    when it was opened here."""
    if isinstance(client, str) and client == "serial":
        yield None
        return
    distributed = need("distributed")
    if client is None:
        # One worker process per core, each running one point at a time (the
        # kernels of `run` stay on one thread for small networks anyway).
        # `allowed_failures` is how often a point may take its worker down
        # with it before the scheduler gives up on it.
        cluster = distributed.LocalCluster(
            n_workers=max(1, min(_cores(), n_tasks)), threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": retries},
        )
        try:
            with distributed.Client(cluster) as own:
                yield own
        finally:
            cluster.close()
    elif isinstance(client, distributed.Client):
        yield client
    else:  # an address or a cluster object, as `check_client` let through
        with distributed.Client(client) as own:
            yield own


def run_serial(fn: Callable, plan: Plan, todo: Sequence[int], record: Callable[[int, str, Any, str], None]) -> None:
    for i in todo:
        params, seed = plan.point(i)
        record(i, *call_point(fn, params, seed, plan.taken))


def run_dask(client: Client, fn: Callable, plan: Plan, todo: Sequence[int], retries: int, chunksize: int,
             record: Callable[[int, str, Any, str], None]) -> None:
    from distributed import as_completed

    tag = f"{re.sub(r'[^0-9a-zA-Z_]', '_', fn_name(fn).rsplit('.', 1)[-1])}-{uuid.uuid4().hex[:8]}"
    pending: dict[Any, tuple[Any, list[int]]] = {}
    try:
        for start in range(0, len(todo), chunksize):
            indices = list(todo[start:start + chunksize])
            if chunksize == 1:
                params, seed = plan.point(indices[0])
                future = client.submit(call_point, fn, params, seed, plan.taken, key=f"{tag}-{indices[0]}",
                                       retries=retries)
            else:
                future = client.submit(call_chunk, fn, [plan.point(i) for i in indices], plan.taken,
                                       key=f"{tag}-{indices[0]}", retries=retries)
            pending[future.key] = future, indices
        for future, result in as_completed([f for f, _ in pending.values()], with_results=True,
                                           raise_errors=False):
            _, indices = pending.pop(future.key)
            if future.status == "finished":
                for i, outcome in zip(indices, [result] if chunksize == 1 else result):
                    record(i, *outcome)
            else:  # the worker kept dying, the task failed outside `fn`, or it was cancelled
                error = describe(future.exception()) if future.status == "error" else f"the task was {future.status}"
                for i in indices:
                    record(i, None, None, error)
            future.release()
    finally:
        if pending:
            client.cancel([f for f, _ in pending.values()])
