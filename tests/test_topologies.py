"""Tests for the ``topologies`` package: graph conventions, exact structure,
statistics of the random families, seeding, spectral scaling and errors.

Every expected value is computed independently of the code under test
(plain NumPy / networkx), never by calling the generator a second way.
"""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
import topologies as tp
from topologies import _util

ROLES = ("input", "output")
#: The simulator's activations: what generated graphs may name.
ACTIVATIONS = tuple(sim.ACTIVATIONS)


def _user_graph_with_io(seed=None):
    G = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("b", "b")])
    tp.init_weights(G, seed=seed)
    return tp.attach_io(G, 2, 2, input_density=0.5, seed=seed)


def _patterns(seed=None):
    return np.random.default_rng(0).choice([-1, 1], size=(3, 12))


# (id, factory(seed) -> DiGraph, random?) -- one entry per generator call
GENERATORS = [
    ("erdos_renyi", lambda s: tp.erdos_renyi(30, 0.2, n_inputs=2, n_outputs=2, seed=s), True),
    ("erdos_renyi_loops", lambda s: tp.erdos_renyi(20, 0.3, self_loops=True, n_outputs=1, seed=s), True),
    ("fixed_indegree", lambda s: tp.fixed_indegree(30, 4, n_inputs=2, n_outputs=1, seed=s), True),
    ("fixed_indegree_loops", lambda s: tp.fixed_indegree(12, 12, self_loops=True, n_inputs=1, seed=s), True),
    ("small_world", lambda s: tp.small_world(30, 4, 0.3, n_inputs=1, n_outputs=2, seed=s), True),
    ("scale_free", lambda s: tp.scale_free(40, 2, n_inputs=1, n_outputs=1, seed=s), True),
    ("ring", lambda s: tp.ring(10, True, True, n_inputs=1, n_outputs=1, seed=s), True),
    ("lattice_2d", lambda s: tp.lattice_2d(3, 4, periodic=True, n_inputs=2, n_outputs=1, seed=s), True),
    ("echo_state", lambda s: tp.echo_state(40, 2, 2, in_degree=4, leak=0.5, seed=s), True),
    ("echo_state_density", lambda s: tp.echo_state(40, 1, 1, density=0.2, seed=s), True),
    ("elman", lambda s: tp.elman(2, 5, 3, seed=s), True),
    ("layered", lambda s: tp.layered([3, 4, 2], 2, 2, True, True, True, 0.7, seed=s), True),
    ("four_neuron_random", lambda s: tp.four_neuron(seed=s), True),
    ("attach_io", _user_graph_with_io, True),
    ("four_neuron", lambda s: tp.four_neuron(), False),
    ("hopfield", lambda s: tp.hopfield(_patterns()), False),
]
GEN_IDS = [g[0] for g in GENERATORS]
RANDOM_GENERATORS = [g for g in GENERATORS if g[2]]


def _role(G, node):
    return G.nodes[node].get("role")


def _hidden(G):
    return [n for n in G if _role(G, n) not in ROLES]


def _snapshot(G):
    """Everything that defines a graph, order included."""
    return (
        list(G.nodes(data=True)),
        [(u, v, dict(d)) for u, v, d in G.edges(data=True)],
    )


def _weights(G, nodes):
    """Dense W[target, source] over ``nodes`` built with networkx."""
    return nx.to_numpy_array(G, nodelist=nodes, weight="weight").T


# ---------------------------------------------------------------------------
# conventions, for every generator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, make, is_random", GENERATORS, ids=GEN_IDS)
def test_no_edge_into_inputs_and_no_output_to_output(name, make, is_random):
    """No edge points into an input node and no edge joins two outputs."""
    G = make(0)
    assert isinstance(G, nx.DiGraph) and not isinstance(G, nx.MultiDiGraph)
    for u, v in G.edges():
        assert _role(G, v) != "input", (u, v)
        assert not (_role(G, u) == "output" and _role(G, v) == "output"), (u, v)


@pytest.mark.parametrize("name, make, is_random", GENERATORS, ids=GEN_IDS)
def test_attributes_follow_the_design_table(name, make, is_random):
    """Every edge has a float weight; roles, activations, biases and taus are valid."""
    G = make(0)
    for _, _, w in G.edges(data="weight"):
        assert type(w) is float and math.isfinite(w)
    for node, data in G.nodes(data=True):
        assert data.get("role", "hidden") in ("input", "output", "hidden")
        if "activation" in data:
            assert data["activation"] in ACTIVATIONS
            assert data.get("role") != "input"
        if "bias" in data:
            assert type(data["bias"]) is float
        if "tau" in data:
            assert data["tau"] > 0 and data.get("role") is None


@pytest.mark.parametrize("name, make, is_random", [g for g in GENERATORS if g[0] != "attach_io"],
                         ids=[i for i in GEN_IDS if i != "attach_io"])
def test_node_order_is_inputs_hidden_outputs(name, make, is_random):
    """Generators insert inputs first, then hidden neurons, then outputs."""
    G = make(0)
    rank = {"input": 0, None: 1, "output": 2}
    ranks = [rank[_role(G, n)] for n in G]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("name, make, is_random", GENERATORS, ids=GEN_IDS)
def test_io_names(name, make, is_random):
    """Inputs are in0, in1, ... and outputs out0, out1, ... in order (four_neuron aside)."""
    G = make(0)
    inputs = [n for n in G if _role(G, n) == "input"]
    outputs = [n for n in G if _role(G, n) == "output"]
    if name.startswith("four_neuron"):
        assert (inputs, outputs) == (["Input1", "Input2"], ["Output"])
    else:
        assert inputs == [f"in{k}" for k in range(len(inputs))]
        assert outputs == [f"out{k}" for k in range(len(outputs))]


@pytest.mark.parametrize("name, make, is_random", RANDOM_GENERATORS, ids=[g[0] for g in RANDOM_GENERATORS])
def test_same_seed_same_graph_different_seed_different_weights(name, make, is_random):
    """Equal seeds give identical graphs (order included); other seeds other weights."""
    a, b, c = make(7), make(7), make(8)
    assert _snapshot(a) == _snapshot(b)
    wa = sorted(w for _, _, w in a.edges(data="weight"))
    wc = sorted(w for _, _, w in c.edges(data="weight"))
    assert wa != wc


def test_seed_accepts_a_generator_and_advances_it():
    """A numpy Generator seed is used as is, so two calls with it differ."""
    rng = np.random.default_rng(3)
    a = tp.erdos_renyi(20, 0.3, seed=rng)
    b = tp.erdos_renyi(20, 0.3, seed=rng)
    assert _snapshot(a) != _snapshot(b)
    assert _snapshot(a) == _snapshot(tp.erdos_renyi(20, 0.3, seed=np.random.default_rng(3)))


def test_global_numpy_random_state_is_untouched():
    """Generators never read or advance numpy's global random state."""
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    tp.fixed_indegree(50, 3, n_inputs=1, n_outputs=1, seed=0)
    tp.small_world(50, 4, 0.5, seed=0)
    tp.echo_state(30, in_degree=3, seed=0)
    assert np.random.random() == expected


# ---------------------------------------------------------------------------
# random families: structure and statistics
# ---------------------------------------------------------------------------


def test_random_families_name_hidden_neurons_by_index():
    """Random and regular families name hidden neurons 0 .. n-1, in order."""
    for G, n in [
        (tp.erdos_renyi(15, 0.2, n_inputs=1, n_outputs=1, seed=0), 15),
        (tp.fixed_indegree(15, 2, seed=0), 15),
        (tp.small_world(15, 2, 0.2, seed=0), 15),
        (tp.scale_free(15, 1, seed=0), 15),
        (tp.ring(15), 15),
        (tp.lattice_2d(3, 5), 15),
        (tp.echo_state(15, in_degree=2, seed=0), 15),
        (tp.hopfield(np.ones((1, 15))), 15),
    ]:
        assert _hidden(G) == list(range(n))


def test_erdos_renyi_extremes():
    """p = 1 gives all n(n-1) pairs (n**2 with self-loops); p = 0 gives none."""
    assert set(tp.erdos_renyi(7, 1.0).edges()) == {
        (i, j) for i in range(7) for j in range(7) if i != j
    }
    assert tp.erdos_renyi(7, 1.0, self_loops=True).number_of_edges() == 49
    assert tp.erdos_renyi(7, 0.0, n_inputs=1).number_of_edges() == 7


def test_erdos_renyi_edge_count_within_binomial_bounds():
    """Edge counts stay within 5 standard deviations of n(n-1)p, without self-loops."""
    n, p = 200, 0.1
    N = n * (n - 1)
    sd = math.sqrt(N * p * (1 - p))
    counts = []
    for seed in range(5):
        G = tp.erdos_renyi(n, p, seed=seed)
        assert nx.number_of_selfloops(G) == 0
        counts.append(G.number_of_edges())
    for m in counts:
        assert abs(m - N * p) < 5 * sd
    # the mean of 5 draws is tighter
    assert abs(np.mean(counts) - N * p) < 5 * sd / math.sqrt(5)


def test_erdos_renyi_pairs_are_uniform():
    """Every ordered pair is equally likely: per-source and per-target counts are flat."""
    rng = np.random.default_rng(0)
    n = 40
    rows, cols = _util.bernoulli_pairs(rng, n * 500, n, 0.25, exclude_diagonal=False)
    col_counts = np.bincount(cols, minlength=n)
    expected = n * 500 * 0.25
    assert np.all(np.abs(col_counts - expected) < 5 * math.sqrt(expected))
    r2, c2 = _util.bernoulli_pairs(rng, n, n, 0.5, exclude_diagonal=True)
    assert np.all(r2 != c2)
    assert np.all(np.diff(r2 * n + c2) > 0)  # sorted, no duplicates


def test_erdos_renyi_large_sparse_is_not_quadratic():
    """n = 200000, p = 1e-6 samples ~4e4 edges without touching n**2 pairs."""
    G = tp.erdos_renyi(200_000, 1e-6, seed=0)
    N = 200_000 * 199_999
    assert abs(G.number_of_edges() - N * 1e-6) < 5 * math.sqrt(N * 1e-6)


def test_fixed_indegree_exact():
    """Every neuron has exactly k distinct hidden presynaptic neurons and no self-loop."""
    G = tp.fixed_indegree(200, 7, n_inputs=3, n_outputs=2, seed=1)
    hidden = set(_hidden(G))
    for v in hidden:
        pre = [u for u in G.predecessors(v) if u in hidden]
        assert len(pre) == 7 and v not in pre
        assert sum(1 for u in G.predecessors(v) if _role(G, u) == "input") == 3
    W = [w for u, v, w in G.edges(data="weight") if u in hidden and v in hidden]
    assert len(W) == 1400


def test_fixed_indegree_dense_and_self_loop_cases():
    """k = n - 1 gives the complete digraph; k = n with self-loops adds every loop."""
    G = tp.fixed_indegree(9, 8, seed=0)
    assert set(G.edges()) == {(i, j) for i in range(9) for j in range(9) if i != j}
    G = tp.fixed_indegree(9, 9, self_loops=True, seed=0)
    assert G.number_of_edges() == 81 and nx.number_of_selfloops(G) == 9
    G = tp.fixed_indegree(9, 6, seed=0)  # complement sampling path (k > (n-1)/2)
    assert {d for _, d in G.in_degree()} == {6} and nx.number_of_selfloops(G) == 0


def test_distinct_rows_draw_uniform_subsets():
    """Each k-subset is equally likely (chi-square over all 3-subsets of 8)."""
    from scipy.stats import chi2

    for k in (3, 6):  # rejection path and complement path
        rows = _util.distinct_rows(np.random.default_rng(0), 56_000, 8, k)
        assert np.all(np.diff(rows, axis=1) > 0)
        subsets = list(itertools.combinations(range(8), k))
        code = {s: i for i, s in enumerate(subsets)}
        counts = np.bincount([code[tuple(r)] for r in rows.tolist()], minlength=len(subsets))
        expected = rows.shape[0] / len(subsets)
        stat = ((counts - expected) ** 2 / expected).sum()
        assert chi2.sf(stat, len(subsets) - 1) > 1e-4


def test_fixed_indegree_weight_variance():
    """Recurrent weights have mean 0 and variance scale**2 / k."""
    G = tp.fixed_indegree(2000, 8, seed=0, scale=2.0)
    w = np.array([w for _, _, w in G.edges(data="weight")])
    assert abs(w.mean()) < 5 * math.sqrt(0.5 / w.size)
    assert abs(w.var() / 0.5 - 1) < 0.05


def _ring_lattice(n, k):
    return {(i, (i + d) % n) for i in range(n) for d in range(-k // 2, k // 2 + 1) if d}


def test_small_world_without_rewiring_is_the_ring_lattice():
    """p = 0 gives exactly the edges i -> i +- 1 .. k/2 (mod n)."""
    assert set(tp.small_world(12, 4, 0.0, seed=0).edges()) == _ring_lattice(12, 4)
    assert set(tp.small_world(7, 6, 1.0, seed=0).edges()) == _ring_lattice(7, 6)


def test_small_world_rewiring_fraction():
    """With rewiring p, out-degrees stay k and about a fraction p of edges leave the lattice."""
    n, k, p = 1000, 10, 0.3
    G = tp.small_world(n, k, p, seed=2)
    assert {d for _, d in G.out_degree()} == {k}
    assert nx.number_of_selfloops(G) == 0
    off = len(set(G.edges()) - _ring_lattice(n, k)) / (n * k)
    # a rewired edge lands back on a lattice target with probability ~ k p / n
    assert abs(off - p) < 5 * math.sqrt(p * (1 - p) / (n * k)) + 0.01
    full = tp.small_world(300, 6, 1.0, seed=0)
    assert {d for _, d in full.out_degree()} == {6} and nx.number_of_selfloops(full) == 0


def test_scale_free_structure():
    """Symmetric, 2m(n-m) edges, each arriving neuron links to exactly m earlier ones."""
    n, m = 500, 3
    G = tp.scale_free(n, m, seed=0)
    assert G.number_of_edges() == 2 * m * (n - m)
    assert nx.number_of_selfloops(G) == 0
    assert all(G.has_edge(v, u) for u, v in G.edges())
    assert set(range(m)) <= set(G.successors(m))
    for v in range(m, n):
        assert sum(1 for u in G.successors(v) if u < v) == m
    degrees = np.array([d for _, d in G.out_degree()])
    assert degrees.max() > 5 * degrees.mean()  # hubs


def test_scale_free_degree_distribution_matches_networkx():
    """Degree distribution agrees with networkx's Barabasi-Albert (two-sample KS)."""
    from scipy.stats import ks_2samp

    ours = [d for _, d in tp.scale_free(3000, 2, seed=0).out_degree()]
    ref = [d for _, d in nx.barabasi_albert_graph(3000, 2, seed=0).degree()]
    assert ks_2samp(ours, ref).pvalue > 1e-3


def test_ring_edges():
    """ring: i -> i+1; bidirectional adds i -> i-1; self_loops adds i -> i; n = 1, 2 merge."""
    assert set(tp.ring(5).edges()) == {(i, (i + 1) % 5) for i in range(5)}
    assert set(tp.ring(5, bidirectional=True).edges()) == {
        (i, (i + d) % 5) for i in range(5) for d in (1, -1)
    }
    assert set(tp.ring(3, self_loops=True).edges()) == {(0, 1), (1, 2), (2, 0), (0, 0), (1, 1), (2, 2)}
    assert set(tp.ring(2, bidirectional=True).edges()) == {(0, 1), (1, 0)}
    assert tp.ring(1).number_of_edges() == 0
    assert set(tp.ring(1, self_loops=True).edges()) == {(0, 0)}


@pytest.mark.parametrize("rows, cols, periodic", [(3, 4, False), (1, 5, False), (4, 5, True), (3, 3, True)])
def test_lattice_2d_matches_networkx_grid(rows, cols, periodic):
    """Edges equal networkx's grid_2d_graph in both directions; names row*cols+col, pos (col, row)."""
    G = tp.lattice_2d(rows, cols, periodic=periodic, seed=0)
    ref = nx.grid_2d_graph(rows, cols, periodic=periodic)
    expected = {(r1 * cols + c1, r2 * cols + c2) for (r1, c1), (r2, c2) in ref.edges()}
    expected |= {(v, u) for u, v in expected}
    assert set(G.edges()) == expected
    assert all(G.nodes[r * cols + c]["pos"] == (c, r) for r in range(rows) for c in range(cols))


def test_lattice_2d_small_periodic_axes_merge():
    """A periodic axis of length 2 merges coinciding edges; of length 1 drops self-loops."""
    assert tp.lattice_2d(2, 2, periodic=True).number_of_edges() == 8
    assert set(tp.lattice_2d(1, 3, periodic=True).edges()) == {
        (i, j) for i in range(3) for j in range(3) if i != j
    }


# ---------------------------------------------------------------------------
# classic architectures
# ---------------------------------------------------------------------------


FOUR_EDGES = [
    ("Input1", "A1"),
    ("A1", "B1"),
    ("B1", "Output"),
    ("Input2", "A2"),
    ("A2", "B2"),
    ("A2", "A1"),
    ("B2", "B1"),
    ("B1", "B1"),
]


def test_four_neuron_is_the_textbook_network():
    """Node order, roles, exactly the eight edges, their weights and a pos on every node."""
    G = tp.four_neuron(weight=2.0, self_weight=-0.25)
    assert list(G) == ["Input1", "Input2", "A1", "A2", "B1", "B2", "Output"]
    assert {n: _role(G, n) for n in G} == {
        "Input1": "input", "Input2": "input", "A1": None, "A2": None,
        "B1": None, "B2": None, "Output": "output",
    }
    assert set(G.edges()) == set(FOUR_EDGES) and G.number_of_edges() == 8
    assert {(u, v): w for u, v, w in G.edges(data="weight")} == {
        e: (-0.25 if e == ("B1", "B1") else 2.0) for e in FOUR_EDGES
    }
    pos = nx.get_node_attributes(G, "pos")
    assert set(pos) == set(G)
    assert pos["Input1"][0] < pos["A1"][0] < pos["B1"][0] < pos["Output"][0]
    assert pos["A1"][0] == pos["A2"][0] and pos["B1"][0] == pos["B2"][0]
    assert all("activation" not in d for _, d in G.nodes(data=True))


def test_four_neuron_seeded_weights_are_standard_normal_in_edge_order():
    """With a seed the eight weights are default_rng(seed).standard_normal(8) in listed order."""
    G = tp.four_neuron(seed=5)
    expected = np.random.default_rng(5).standard_normal(8)
    assert [G[u][v]["weight"] for u, v in FOUR_EDGES] == expected.tolist()


def test_elman_is_fully_connected():
    """Every input -> hidden, hidden -> hidden (loops too) and hidden -> output edge, nothing else."""
    G = tp.elman(3, 4, 2, seed=0, activation="relu")
    inputs, hidden, outputs = ["in0", "in1", "in2"], [f"h{i}" for i in range(4)], ["out0", "out1"]
    assert list(G) == inputs + hidden + outputs
    expected = set(itertools.product(inputs, hidden)) | set(itertools.product(hidden, hidden))
    expected |= set(itertools.product(hidden, outputs))
    assert set(G.edges()) == expected
    assert all(G.nodes[h]["activation"] == "relu" for h in hidden)
    assert all("activation" not in G.nodes[o] for o in outputs)


def _layered_expected(sizes, n_in, n_out, lateral, self_loops, backward):
    names = [[f"L{l}_{k}" for k in range(s)] for l, s in enumerate(sizes)]
    e = set(itertools.product([f"in{i}" for i in range(n_in)], names[0]))
    e |= set(itertools.product(names[-1], [f"out{o}" for o in range(n_out)]))
    for l, layer in enumerate(names):
        if lateral:
            e |= {(a, b) for a in layer for b in layer if a != b}
        if self_loops:
            e |= {(a, a) for a in layer}
        if l + 1 < len(names):
            e |= set(itertools.product(layer, names[l + 1]))
            if backward:
                e |= set(itertools.product(names[l + 1], layer))
    return e


@pytest.mark.parametrize("lateral, self_loops, backward", list(itertools.product([False, True], repeat=3)))
def test_layered_edges_at_full_density(lateral, self_loops, backward):
    """At density 1 the edge set is exactly the requested feed-forward/lateral/self/backward set."""
    sizes = [2, 3, 2]
    G = tp.layered(sizes, 2, 1, lateral, self_loops, backward, seed=0)
    assert set(G.edges()) == _layered_expected(sizes, 2, 1, lateral, self_loops, backward)
    assert [G.nodes[f"L{l}_0"]["layer"] for l in range(3)] == [0, 1, 2]
    xs = [G.nodes[n]["pos"][0] for n in ["in0", "L0_0", "L1_0", "L2_0", "out0"]]
    assert xs == sorted(xs) and len(set(xs)) == 5


def test_layered_density_thins_hidden_edges_only():
    """density = 0 keeps only input, output and self-loop edges."""
    G = tp.layered([3, 3], 1, 1, lateral=True, self_loops=True, backward=True, density=0.0, seed=0)
    assert set(G.edges()) == {("in0", f"L0_{k}") for k in range(3)} | {
        (f"L1_{k}", "out0") for k in range(3)
    } | {(f"L{l}_{k}", f"L{l}_{k}") for l in range(2) for k in range(3)}


# ---------------------------------------------------------------------------
# Hopfield
# ---------------------------------------------------------------------------


def test_hopfield_weights_are_hebbian():
    """W_ij = (1/n) sum_p p_i p_j on every ordered pair i != j, symmetric, no self-loops."""
    P = np.random.default_rng(1).choice([-1, 1], size=(4, 9))
    G = tp.hopfield(P.tolist())
    n = 9
    expected = np.zeros((n, n))
    for p in P:
        for i in range(n):
            for j in range(n):
                if i != j:
                    expected[i, j] += p[i] * p[j] / n
    assert G.number_of_edges() == n * (n - 1)  # zero weights kept
    assert nx.number_of_selfloops(G) == 0
    for i, j in itertools.permutations(range(n), 2):
        assert G[i][j]["weight"] == pytest.approx(expected[i, j], abs=1e-15)
        assert G[i][j]["weight"] == G[j][i]["weight"]
    assert all(d == {"activation": "sign", "bias": 0.0} for _, d in G.nodes(data=True))


def test_hopfield_stores_patterns_as_fixed_points():
    """A few orthogonal patterns are fixed points of sign(W x)."""
    P = np.array([[1, 1, 1, 1, -1, -1, -1, -1], [1, -1, 1, -1, 1, -1, 1, -1]])
    G = tp.hopfield(P)
    W = _weights(G, list(range(8)))
    for p in P:
        assert np.array_equal(np.sign(W @ p), p)


# ---------------------------------------------------------------------------
# weights: init_weights, spectral radius, attach_io
# ---------------------------------------------------------------------------


def test_init_weights_fan_in_variance_and_kinds():
    """Selected kinds get N(0, scale**2 / fan_in) by their own fan-in; others stay put."""
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_edges_from((u, 0) for u in range(1, 401))  # hidden fan-in 400
    G.add_edges_from([("x", 0), (0, "y")], weight=7.0)
    tp.init_weights(G, scale=3.0, kinds="W", seed=0)
    w = np.array([G[u][0]["weight"] for u in range(1, 401)])
    assert abs(w.std() / (3.0 / 20.0) - 1) < 0.15
    assert G["x"][0]["weight"] == 7.0 and G[0]["y"]["weight"] == 7.0
    tp.init_weights(G, kinds=["input->hidden"], distribution="uniform", seed=0)
    assert abs(G["x"][0]["weight"]) <= math.sqrt(3.0 / 1.0)


def test_init_weights_uniform_bound():
    """Uniform weights lie in +-scale*sqrt(3/fan_in) and keep other edge attributes."""
    G = nx.DiGraph()
    G.add_edges_from(((u, 0) for u in range(1, 13)), label="keep")
    tp.init_weights(G, scale=2.0, distribution="uniform", seed=1)
    bound = 2.0 * math.sqrt(3 / 12)
    assert all(abs(d["weight"]) <= bound and d["label"] == "keep" for _, _, d in G.edges(data=True))


def test_spectral_radius_and_scaling_match_dense_eigenvalues():
    """After scaling, the dense eigenvalues of W have largest modulus rho; I/O weights unchanged."""
    G = tp.fixed_indegree(80, 5, n_inputs=2, n_outputs=1, seed=3)
    hidden = list(range(80))
    before = np.max(np.abs(np.linalg.eigvals(_weights(G, hidden))))
    assert tp.spectral_radius(G) == pytest.approx(before, rel=1e-12)
    io = {(u, v): w for u, v, w in G.edges(data="weight") if _role(G, u) or _role(G, v)}
    tp.scale_spectral_radius(G, 0.7)
    after = np.max(np.abs(np.linalg.eigvals(_weights(G, hidden))))
    assert after == pytest.approx(0.7, rel=1e-12)
    assert io == {(u, v): w for u, v, w in G.edges(data="weight") if _role(G, u) or _role(G, v)}


def test_spectral_radius_edge_cases():
    """No hidden edge gives 0; acyclic gives 0; a single self-loop gives |w|; nodes= restricts."""
    assert tp.spectral_radius(nx.DiGraph()) == 0.0
    assert tp.spectral_radius(tp.layered([3, 3], density=1.0, seed=0)) == 0.0
    G = nx.DiGraph()
    G.add_weighted_edges_from([(0, 0, -1.5), (1, 2, 4.0), (2, 1, 1.0)])
    assert tp.spectral_radius(G) == pytest.approx(2.0)
    assert tp.spectral_radius(G, nodes=[0]) == pytest.approx(1.5)
    G.add_node(0, role="input")  # role decides: edges at an input no longer count
    G.remove_edge(0, 0)
    assert tp.spectral_radius(G) == pytest.approx(2.0)


@pytest.mark.parametrize("n", [12, 600])
def test_spectral_radius_of_undirected_graph_counts_both_directions(n):
    """An undirected Graph is read both ways (as compile does): rho is that of the symmetric matrix."""
    rng = np.random.default_rng(n)
    G = nx.watts_strogatz_graph(n, 4, 0.3, seed=1)
    G.add_edge(0, 0)  # a self-loop counts once
    for u, v in G.edges():
        G[u][v]["weight"] = rng.normal()
    G.add_edge("x", 1, weight=50.0)
    G.nodes["x"]["role"] = "input"  # edges at an input are not recurrent
    hidden = list(range(n))
    A = nx.to_numpy_array(G, nodelist=hidden)
    assert np.array_equal(A, A.T)
    assert tp.spectral_radius(G) == pytest.approx(np.max(np.abs(np.linalg.eigvals(A))), rel=1e-9)
    assert tp.spectral_radius(G, nodes=[0, 1]) == pytest.approx(
        np.max(np.abs(np.linalg.eigvals(A[:2, :2]))), rel=1e-12)


def _similar_to_symmetric(n, seed):
    """Nonsymmetric D T D^-1 (T symmetric tridiagonal) with T's exact spectrum.

    Edge j -> i has weight A[i, j] = d_i T_ij / d_j; ``eigvalsh_tridiagonal``
    gives the eigenvalues of T, hence of A, without a dense eigensolver.
    """
    from scipy.linalg import eigvalsh_tridiagonal

    rng = np.random.default_rng(seed)
    diag, off = rng.standard_normal(n), rng.standard_normal(n - 1)
    d = rng.uniform(0.5, 2.0, n)
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from((i, i, float(diag[i])) for i in range(n))
    for i in range(n - 1):
        G.add_edge(i, i + 1, weight=float(d[i + 1] * off[i] / d[i]))
        G.add_edge(i + 1, i, weight=float(d[i] * off[i] / d[i + 1]))
    return G, np.max(np.abs(eigvalsh_tridiagonal(diag, off)))


def test_large_graphs_use_the_sparse_eigensolver(monkeypatch):
    """n > 500 never calls numpy.linalg.eigvals and still matches the exact radius."""
    G, exact = _similar_to_symmetric(700, seed=0)

    def refuse(*args, **kwargs):
        raise AssertionError("dense eigvals called on a large matrix")

    monkeypatch.setattr(np.linalg, "eigvals", refuse)
    assert tp.spectral_radius(G) == pytest.approx(exact, rel=1e-9)
    tp.scale_spectral_radius(G, 0.95)
    assert tp.spectral_radius(G) == pytest.approx(0.95, rel=1e-9)
    E = tp.echo_state(2000, 1, 1, spectral_radius=0.9, in_degree=8, seed=0)
    assert tp.spectral_radius(E) == pytest.approx(0.9, rel=1e-9)


def test_large_cycle_and_periodic_graphs():
    """A long weighted ring has radius exp(mean log|w|); 2-periodic blocks match exactly."""
    G = tp.ring(3000, seed=0)
    w = np.array([w for _, _, w in G.edges(data="weight")])
    assert tp.spectral_radius(G) == pytest.approx(np.exp(np.mean(np.log(np.abs(w)))), rel=1e-12)
    for n in (300, 700):  # reduced matrix solved densely, then by ARPACK
        S, exact = _similar_to_symmetric(n, seed=1)
        # bipartite double cover [[0, M], [M, 0]]: eigenvalues +-eig(M), period 2
        H = nx.DiGraph()
        for u, v, x in S.edges(data="weight"):
            H.add_edge(("a", u), ("b", v), weight=x)
            H.add_edge(("b", u), ("a", v), weight=x)
        assert tp.spectral_radius(H) == pytest.approx(exact, rel=1e-9)


def test_attach_io_wires_inputs_and_outputs():
    """Inputs feed hidden nodes with the requested density; outputs read every hidden node."""
    G = tp.ring(300, seed=0)
    tp.attach_io(G, n_inputs=2, n_outputs=3, input_density=0.25, seed=1)
    assert list(G)[-5:] == ["in0", "in1", "out0", "out1", "out2"]
    fed = [G.out_degree(f"in{k}") for k in range(2)]
    assert all(abs(f - 75) < 5 * math.sqrt(300 * 0.25 * 0.75) for f in fed)
    assert all(G.in_degree(f"out{k}") == 300 for k in range(3))
    assert all(set(G.predecessors(f"out{k}")) == set(range(300)) for k in range(3))
    vw = np.array([w for u, v, w in G.edges(data="weight") if str(v).startswith("out")])
    assert abs(vw.std() * math.sqrt(300) - 1) < 0.15


def test_echo_state_structure():
    """Fixed in-degree reservoir, tau = 1/leak, outputs read all, radius as requested."""
    G = tp.echo_state(60, 2, 3, spectral_radius=1.2, in_degree=5, leak=0.2, seed=4)
    hidden = list(range(60))
    assert _hidden(G) == hidden
    for v in hidden:
        assert sum(1 for u in G.predecessors(v) if u in set(hidden)) == 5
        assert G.nodes[v]["tau"] == pytest.approx(5.0)
        assert "activation" not in G.nodes[v]
    assert all(G.in_degree(f"out{k}") == 60 for k in range(3))
    rho = np.max(np.abs(np.linalg.eigvals(_weights(G, hidden))))
    assert rho == pytest.approx(1.2, rel=1e-12)
    assert "tau" not in tp.echo_state(20, in_degree=3, seed=0).nodes[0]


@pytest.mark.parametrize("self_loops", [False, True])
@pytest.mark.parametrize("n", [2, 3, 10, 11, 12])
def test_echo_state_default_in_degree_fits_small_reservoirs(n, self_loops):
    """Default in_degree is min(10, n - 1) (min(10, n) with self-loops): small reservoirs build."""
    G = tp.echo_state(n, self_loops=self_loops, seed=0)
    expected = min(10, n if self_loops else n - 1)
    hidden = set(range(n))
    assert all(sum(u in hidden for u in G.predecessors(v)) == expected for v in hidden)
    assert np.max(np.abs(np.linalg.eigvals(_weights(G, list(range(n)))))) == pytest.approx(0.9, rel=1e-12)
    explicit = tp.echo_state(n, self_loops=self_loops, in_degree=expected, seed=0)
    assert _snapshot(G) == _snapshot(explicit)


# ---------------------------------------------------------------------------
# hypothesis properties
# ---------------------------------------------------------------------------


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 30),
    data=st.data(),
    self_loops=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fixed_indegree_property(n, data, self_loops, seed):
    """For any n, k and seed: in-degree exactly k, loops only if allowed, fan-in weights."""
    k = data.draw(st.integers(0, n if self_loops else n - 1))
    G = tp.fixed_indegree(n, k, self_loops=self_loops, seed=seed)
    assert list(G) == list(range(n))
    assert all(d == k for _, d in G.in_degree())
    if not self_loops:
        assert nx.number_of_selfloops(G) == 0


@settings(deadline=None, max_examples=40)
@given(
    n=st.integers(1, 25),
    p=st.floats(0.0, 1.0),
    self_loops=st.booleans(),
    n_in=st.integers(0, 3),
    n_out=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_erdos_renyi_property(n, p, self_loops, n_in, n_out, seed):
    """For any parameters: valid roles, n_in*n + n*n_out I/O edges, no loops unless allowed."""
    G = tp.erdos_renyi(n, p, self_loops, n_in, n_out, seed)
    assert G.number_of_nodes() == n + n_in + n_out
    io = sum(1 for u, v in G.edges() if _role(G, u) or _role(G, v))
    assert io == n_in * n + n * n_out
    if not self_loops:
        assert nx.number_of_selfloops(G) == 0
    hidden_edges = G.number_of_edges() - io
    assert hidden_edges <= (n * n if self_loops else n * (n - 1))


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 40), half=st.integers(0, 5), p=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_small_world_property(n, half, p, seed):
    """For any n, k < n and p: out-degree k, no self-loops, no duplicates."""
    k = 2 * half
    if k >= n:
        with pytest.raises(ValueError, match="`k` must be < n"):
            tp.small_world(n, k, p, seed=seed)
        return
    G = tp.small_world(n, k, p, seed=seed)
    assert all(d == k for _, d in G.out_degree())
    assert nx.number_of_selfloops(G) == 0


@settings(deadline=None, max_examples=25)
@given(m=st.integers(1, 4), extra=st.integers(0, 30), seed=st.integers(0, 2**16))
def test_scale_free_property(m, extra, seed):
    """For any m and n >= m+1: 2m(n-m) symmetric edges, m earlier partners per arrival."""
    n = m + 1 + extra
    G = tp.scale_free(n, m, seed=seed)
    assert G.number_of_edges() == 2 * m * (n - m)
    for v in range(m, n):
        assert sum(1 for u in G.successors(v) if u < v) == m


# ---------------------------------------------------------------------------
# errors: every message pinned
# ---------------------------------------------------------------------------

ERRORS = [
    (lambda: tp.erdos_renyi(10, 1.5), ValueError, r"`p` must be in \[0, 1\], got 1\.5"),
    (lambda: tp.erdos_renyi(10, float("nan")), ValueError, r"`p` must be finite and in \[0, 1\], got nan"),
    (lambda: tp.erdos_renyi(0, 0.1), ValueError, r"`n` must be >= 1, got 0"),
    (lambda: tp.erdos_renyi(10.0, 0.1), TypeError, r"`n` must be an int, got float 10\.0"),
    (lambda: tp.erdos_renyi(10, "0.1"), TypeError, r"`p` must be a real number, got str"),
    (lambda: tp.erdos_renyi(10, 0.1, self_loops=1), TypeError, r"`self_loops` must be a bool"),
    (lambda: tp.erdos_renyi(10, 0.1, n_inputs=-1), ValueError, r"`n_inputs` must be >= 0, got -1"),
    (lambda: tp.erdos_renyi(10, 0.1, scale=-1.0), ValueError, r"`scale` must be >= 0, got -1\.0"),
    (lambda: tp.erdos_renyi(10, 0.1, input_density=2), ValueError, r"`input_density` must be in \[0, 1\], got 2\.0"),
    (lambda: tp.erdos_renyi(10, 0.1, seed="x"), TypeError, r"`seed` must be an int, a numpy\.random\.Generator or None, got str"),
    (lambda: tp.erdos_renyi(10, 0.1, seed=-3), ValueError, r"`seed` must be >= 0, got -3"),
    (lambda: tp.fixed_indegree(10, 10), ValueError, r"`k` must be <= n - 1 = 9 when self_loops=False .* got k=10"),
    (lambda: tp.fixed_indegree(10, 11, self_loops=True), ValueError, r"`k` must be <= n = 10 when self_loops=True"),
    (lambda: tp.fixed_indegree(10, -1), ValueError, r"`k` must be >= 0, got -1"),
    (lambda: tp.small_world(10, 3, 0.1), ValueError, r"`k` must be even .* got 3"),
    (lambda: tp.small_world(10, 10, 0.1), ValueError, r"`k` must be < n = 10, got 10"),
    (lambda: tp.small_world(10, 2, -0.1), ValueError, r"`p` must be in \[0, 1\], got -0\.1"),
    (lambda: tp.scale_free(3, 3), ValueError, r"`n` must be >= m \+ 1 = 4, got n=3"),
    (lambda: tp.scale_free(10, 0), ValueError, r"`m` must be >= 1, got 0"),
    (lambda: tp.ring(0), ValueError, r"`n` must be >= 1, got 0"),
    (lambda: tp.lattice_2d(0, 3), ValueError, r"`rows` must be >= 1, got 0"),
    (lambda: tp.lattice_2d(3, True), TypeError, r"`cols` must be an int, got bool"),
    (lambda: tp.echo_state(10, in_degree=10), ValueError, r"`in_degree` must be <= n - 1 = 9 when self_loops=False, got 10"),
    (lambda: tp.echo_state(10, spectral_radius=0), ValueError, r"`spectral_radius` must be > 0, got 0\.0"),
    (lambda: tp.echo_state(10, in_degree=3, leak=1.5), ValueError, r"`leak` must be in \(0, 1\], got 1\.5"),
    (lambda: tp.echo_state(10, in_degree=3, leak=0), ValueError, r"`leak` must be in \(0, 1\], got 0\.0"),
    (lambda: tp.echo_state(10, density=0.0), ValueError, r"`density` must be in \(0, 1\], got 0\.0"),
    (lambda: tp.echo_state(30, density=0.001, seed=0), ValueError, r"spectral radius 0 \(no recurrent cycle\)"),
    (lambda: tp.echo_state(1), ValueError, r"`n` must be >= 2, got 1"),
    (lambda: tp.elman(1, 0, 1), ValueError, r"`n_hidden` must be >= 1, got 0"),
    (lambda: tp.elman(1, 2, 1, activation="tahn"), ValueError, r"`activation` must be one of 'tanh', .*'sign'; got 'tahn'"),
    (lambda: tp.elman(1, 2, 1, activation=None), TypeError, r"`activation` must be a str"),
    (lambda: tp.layered([]), ValueError, r"`layer_sizes` must name at least one layer, got \[\]"),
    (lambda: tp.layered([2, 0]), ValueError, r"`layer_sizes\[1\]` must be >= 1, got 0"),
    (lambda: tp.layered(3), TypeError, r"`layer_sizes` must be a sequence of ints, got int 3"),
    (lambda: tp.layered([2], density=1.2), ValueError, r"`density` must be in \[0, 1\], got 1\.2"),
    (lambda: tp.layered([2], lateral="yes"), TypeError, r"`lateral` must be a bool, got str 'yes'"),
    (lambda: tp.four_neuron(weight=float("inf")), ValueError, r"`weight` must be finite, got inf"),
    (lambda: tp.hopfield([1, -1, 1]), ValueError, r"`patterns` must be 2-dimensional, shape \(n_patterns, n_neurons\), got shape \(3,\)"),
    (lambda: tp.hopfield([[1, -1], [1]]), ValueError, r"`patterns` must be 2-dimensional.*ragged"),
    (lambda: tp.hopfield([[1, -1, 0.5]]), ValueError, r"`patterns` entries must be \+1 or -1; patterns\[0, 2\] is 0\.5"),
    (lambda: tp.hopfield(np.ones((0, 3))), ValueError, r"at least one pattern of at least one neuron, got shape \(0, 3\)"),
    (lambda: tp.hopfield([[True, False]]), TypeError, r"`patterns` must hold numbers \+1 / -1, got an array of dtype bool"),
    (lambda: tp.init_weights(nx.Graph()), TypeError, r"`G` must be a networkx\.DiGraph, got Graph; convert"),
    (lambda: tp.init_weights(nx.DiGraph(), kinds="hidden-hidden"), ValueError, r"`kinds` entries must be one of 'input->hidden'.*got 'hidden-hidden'"),
    (lambda: tp.init_weights(nx.DiGraph(), kinds=3), TypeError, r"`kinds` must be None, a str or an iterable of str, got int"),
    (lambda: tp.init_weights(nx.DiGraph(), distribution="cauchy"), ValueError, r"`distribution` must be one of 'normal', 'uniform'; got 'cauchy'"),
    (lambda: tp.init_weights(_bad_graph("into_input")), ValueError, r"edge \('a', 'x'\) points into input node 'x': inputs take no edges"),
    (lambda: tp.init_weights(_bad_graph("out_out")), ValueError, r"edge \('y', 'z'\) joins two output nodes"),
    (lambda: tp.spectral_radius(nx.DiGraph([(0, 1)]), nodes=[0, 5]), ValueError, r"`nodes` names 5, which is not a node of `G`"),
    (lambda: tp.spectral_radius(nx.DiGraph([(0, 1)]), nodes=[0, 0]), ValueError, r"`nodes` must not repeat a node"),
    (lambda: tp.spectral_radius(nx.MultiGraph([(0, 1)])), TypeError, r"`G` must be a networkx\.DiGraph or Graph, got MultiGraph; merge parallel edges"),
    (lambda: tp.scale_spectral_radius(nx.DiGraph([(0, 1)]), 0.9), ValueError, r"cannot scale to `rho`: .* spectral radius 0"),
    (lambda: tp.scale_spectral_radius(nx.DiGraph([(0, 0)]), -1), ValueError, r"`rho` must be > 0, got -1\.0"),
    (lambda: tp.attach_io(nx.DiGraph([("in0", 1)]), n_inputs=1), ValueError, r"`G` already has a node named 'in0'"),
    (lambda: tp.attach_io(nx.DiGraph(), input_density=-0.5), ValueError, r"`input_density` must be in \[0, 1\], got -0\.5"),
]


def _bad_graph(kind):
    G = nx.DiGraph()
    G.add_node("x", role="input")
    G.add_node("y", role="output")
    G.add_node("z", role="output")
    G.add_edge("a", "y")
    if kind == "into_input":
        G.add_edge("a", "x")
    else:
        G.add_edge("y", "z")
    return G


@pytest.mark.parametrize("call, exc, message", ERRORS, ids=[m[:40] for _, _, m in ERRORS])
def test_error_messages(call, exc, message):
    """Bad arguments raise the documented exception type naming the argument and rule."""
    with pytest.raises(exc, match=message):
        call()


def test_topologies_know_the_simulators_activations():
    """The activation names topologies validate are exactly the simulator's."""
    assert set(_util.ACTIVATIONS) == set(sim.ACTIVATIONS)
