"""Shared fixtures and the hypothesis profile (no deadline: the first call compiles)."""

import os

import networkx as nx
import pytest
from hypothesis import settings

settings.register_profile("default", deadline=None, max_examples=40)
# CI explores the same examples on every run: a red build always means a change.
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_collection_modifyitems(config, items):
    """Slow tests (the README's commands in a fresh clone) run last: the
    clone's run, started in the background, has the longest to finish."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


def pytest_collection_finish(session):
    """Once the selection is final (after ``-m``, ``-k`` and ``--deselect``),
    start what a selected test runs in the background
    (`test_readme_commands.start_in_background`)."""
    for module in {item.module for item in session.items if getattr(item, "module", None) is not None}:
        start = getattr(module, "start_in_background", None)
        if start is not None:
            start()


def pytest_sessionfinish(session, exitstatus):
    """End what was started in the background and is still running (an
    interrupted session), and remove its files."""
    for module in {item.module for item in session.items if getattr(item, "module", None) is not None}:
        stop = getattr(module, "stop_background", None)
        if stop is not None:
            stop()


@pytest.fixture
def four_neuron() -> nx.DiGraph:
    """The design's textbook network, drawn by hand (independent of topologies)."""
    G = nx.DiGraph()
    G.add_node("Input1", role="input")
    G.add_node("Input2", role="input")
    for n in ("A1", "A2", "B1", "B2"):
        G.add_node(n)
    G.add_node("Output", role="output")
    G.add_weighted_edges_from([
        ("Input1", "A1", 1.0), ("A1", "B1", 0.8), ("B1", "Output", 1.5), ("Input2", "A2", -0.7),
        ("A2", "B2", 1.1), ("A2", "A1", 0.4), ("B2", "B1", -0.9), ("B1", "B1", 0.5),
    ])
    return G
