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
    clone's run has the longest to finish (`test_readme_commands`)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


def call_in_selected_modules(session, name: str) -> None:
    """Call the function `name` of each module that has a selected test and
    defines one."""
    modules = {item.module for item in getattr(session, "items", []) if getattr(item, "module", None) is not None}
    for module in modules:
        fn = getattr(module, name, None)
        if fn is not None:
            fn()


def pytest_collection_finish(session):
    """Once the selection is final (after ``-m``, ``-k`` and ``--deselect``),
    start what a selected test runs in the background
    (`test_readme_commands.start_in_background`)."""
    call_in_selected_modules(session, "start_in_background")


def pytest_sessionfinish(session, exitstatus):
    """End what was started in the background and is still running (an
    interrupted session), and remove its files."""
    call_in_selected_modules(session, "stop_background")


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
