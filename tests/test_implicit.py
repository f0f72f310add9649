"""`simulator.implicit.factorise`: the fill-reducing LU that BDF and Radau use
with a sparse Jacobian, against SciPy's default factorisation."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import splu

import simulator as sim
import topologies as tp
from simulator.implicit import factorise


def _system(c: float, n: int = 300, seed: int = 0, dtype=float):
    """``I - c J`` of a stiff small-world network's Jacobian, as BDF builds it."""
    rng = np.random.default_rng(seed)
    G = tp.small_world(n, 10, 0.05, seed=seed, scale=1.2)
    for v, tau in zip(G, 10 ** rng.uniform(-3, 2, n)):
        G.nodes[v]["tau"] = float(tau)
    J = sim.jacobian(sim.compile(G), rng.normal(0, 0.5, n), sparse=True)
    return (sp.identity(n, format="csc", dtype=dtype) - c * J).tocsc()


@pytest.mark.parametrize("c", [1e-3, 0.1, 1.0])
def test_factorise_solves_and_fills_less_than_scipys_default(c):
    A = _system(c)
    b = np.random.default_rng(1).normal(size=A.shape[0])
    first, order = factorise(A, None)
    again, same = factorise(_system(c * 1.7), order)  # a later step: same pattern, the stored order
    assert same is order and again.order is order
    for factor, M in ((first, A), (again, _system(c * 1.7))):
        x = factor.solve(b)
        np.testing.assert_allclose(M @ x, b, rtol=0, atol=1e-10)
        np.testing.assert_allclose(x, np.linalg.solve(M.toarray(), b), rtol=1e-9, atol=1e-12)
    default = splu(A)
    assert again.lu.L.nnz + again.lu.U.nnz < 0.8 * (default.L.nnz + default.U.nnz)


def test_incomplete_factors_are_small_and_close_at_small_steps():
    """At a small step (c = 1e-3) BDF's incomplete LU holds a fraction of the
    complete factors' entries and stands in for the inverse: applied to
    ``A x`` it gives back x to 1e-2 (Newton's iteration corrects the rest)."""
    A = _system(1e-3)
    x = np.random.default_rng(1).normal(size=A.shape[0])
    complete, order = factorise(A, None)
    incomplete, same = factorise(A, order, incomplete=True)
    assert same is order
    assert incomplete.lu.L.nnz + incomplete.lu.U.nnz < 0.5 * (complete.lu.L.nnz + complete.lu.U.nnz)
    assert 0 < np.linalg.norm(incomplete.solve(A @ x) - x) < 1e-2 * np.linalg.norm(x)


def test_incomplete_factorisation_is_refused_where_it_would_not_converge():
    """At a large step (c = 1) the dropped entries matter (the incomplete
    factors would amplify errors): the complete LU is made instead."""
    A = _system(1.0)
    b = np.random.default_rng(2).normal(size=A.shape[0])
    _, order = factorise(A, None)
    factor, _ = factorise(A, order, incomplete=True)
    np.testing.assert_allclose(A @ factor.solve(b), b, rtol=0, atol=1e-10)


def test_incomplete_factorisation_falls_back_to_the_complete_one(monkeypatch):
    """Where the incomplete LU breaks down (a zero pivot), the complete one solves."""
    from simulator import implicit

    def breaks_down(*args, **kwargs):
        raise RuntimeError("Factor is exactly singular")

    A = _system(0.1)
    b = np.random.default_rng(3).normal(size=A.shape[0])
    _, order = factorise(A, None)
    monkeypatch.setattr(implicit, "spilu", breaks_down)
    factor, _ = factorise(A, order, incomplete=True)
    np.testing.assert_allclose(A @ factor.solve(b), b, rtol=0, atol=1e-10)


def test_factorise_complex_system():
    """Radau factorises a complex system too."""
    A = _system(0.3, n=120, dtype=complex) + 0.5j * sp.identity(120, format="csc")
    b = np.random.default_rng(2).normal(size=120) + 1j
    factor, order = factorise(A.tocsc(), None)
    factor, _ = factorise(A.tocsc(), order)
    np.testing.assert_allclose(A @ factor.solve(b), b, atol=1e-10)


def test_zero_diagonal_still_pivots():
    """With the diagonal pivots kept, SuperLU still swaps rows where a
    diagonal entry is zero: [[0, 1], [1, 0]] solves, first call and later."""
    A = sp.csc_matrix(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 2.0]]))
    factor, order = factorise(A, None)
    np.testing.assert_allclose(factor.solve(np.array([1.0, 2.0, 4.0])), [2.0, 1.0, 2.0])
    factor, _ = factorise(A, order)
    np.testing.assert_allclose(factor.solve(np.array([1.0, 2.0, 4.0])), [2.0, 1.0, 2.0])


@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_bdf_keeps_factorisations_across_small_step_changes(form):
    """BDF reuses a factorisation while J is unchanged and c moves by less
    than 30%: fewer factorisations than SciPy's BDF given the same analytic
    Jacobian, and the same solution to the tolerance."""
    import networkx as nx
    import scipy.integrate

    from . import reference as ref

    rng = np.random.default_rng(5)
    G = nx.DiGraph()
    n = 80
    for i in range(n):
        G.add_node(i, tau=float(10 ** rng.uniform(-3, 1)))
        G.add_edge(i, (i + 1) % n, weight=float(rng.normal()))
        G.add_edge(i, (i + 7) % n, weight=float(rng.normal(0, 0.5)))
    net = sim.compile(G)
    h0 = rng.normal(size=n)
    drive = lambda t: np.zeros(0)  # noqa: E731
    d = ref.Dense(G)
    opts = dict(rtol=1e-7, atol=1e-9, t_eval=[5.0])
    ours = sim.solve(net, None, (0, 5), h0=h0, method="BDF", jacobian=form, **opts)
    theirs = scipy.integrate.solve_ivp(lambda t, h: ref.rhs(d, h, drive(t)), (0, 5), h0, method="BDF",
                                       jac=lambda t, h: sim.jacobian(net, h, sparse=form == "sparse"), **opts)
    exact = scipy.integrate.solve_ivp(lambda t, h: ref.rhs(d, h, drive(t)), (0, 5), h0, method="Radau",
                                      jac=lambda t, h: sim.jacobian(net, h), rtol=1e-10, atol=1e-11,
                                      t_eval=[5.0]).y.T  # the Jacobian only speeds Newton up
    assert ours.info["jacobian"] == form
    assert ours.info["nlu"] < 0.8 * theirs.nlu
    np.testing.assert_allclose(ours.states, exact, atol=1e-5)
    np.testing.assert_allclose(theirs.y.T, exact, atol=1e-5)


def test_bdf_differences_start_initialised(monkeypatch):
    """SciPy's BDF allocates its differences with np.empty and fills two rows;
    its first step subtracts the third. `OrderedBDF` zeroes the rest, so that
    what the memory held (here: infs, as np.empty may give) never enters."""
    from simulator.implicit import OrderedBDF

    empty = np.empty

    def held_infs(*args, **kwargs):
        a = empty(*args, **kwargs)
        if a.dtype.kind == "f":
            a.fill(np.inf)
        return a

    monkeypatch.setattr(np, "empty", held_infs)
    A = -_system(1.0, n=30)
    solver = OrderedBDF(lambda t, y: A @ y, 0.0, np.ones(30), 1.0, jac=lambda t, y: A)
    monkeypatch.undo()
    assert np.all(solver.D[2:] == 0.0)
    solver.step()
    assert np.all(np.isfinite(solver.D[:4]))
