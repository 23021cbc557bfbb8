import json

import numpy as np
import pytest
from scipy.optimize import minimize, rosen, rosen_der

import corenn
from corenn.optim import flatten_state, unflatten_state
from corenn.testing import check_component
from corenn_lbfgs import LBFGS


def test_lbfgs_passes_the_conformance_kit():
    check_component(LBFGS)


class Quadratic:
    """f(x) = 0.5 x'Ax - b'x in 50 dimensions (condition number 100), held as a (5, 5) and a (25,) array."""

    def __init__(self, dtype=np.float64, seed=0):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((50, 50)))
        self.A = q @ np.diag(np.geomspace(1.0, 100.0, 50)) @ q.T
        self.b = rng.standard_normal(50)
        self.params = [np.zeros((5, 5), dtype), np.zeros(25, dtype)]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.calls = 0

    def flat(self):
        return np.concatenate([p.ravel() for p in self.params]).astype(np.float64)

    def closure(self):
        self.calls += 1
        x = self.flat()
        g = self.A @ x - self.b
        self.grads[0][...] = g[:25].reshape(5, 5)
        self.grads[1][...] = g[25:]
        return 0.5 * x @ self.A @ x - self.b @ x, self.grads


def rosenbrock_problem(dtype=np.float64, start=(-1.2, 1.0)):
    x = [np.array(start, dtype)]
    g = [np.zeros(2, dtype)]

    def closure():
        g[0][...] = rosen_der(x[0].astype(np.float64))
        return rosen(x[0].astype(np.float64)), g

    return x, g, closure


def test_finds_the_minimum_of_rosenbrock_at_1_1_as_scipy_does():
    x, g, closure = rosenbrock_problem()
    opt = LBFGS()
    for _ in range(3):
        opt.step(x, g, closure)
    # the default tolerances (loss change 1e-9) stop within about 1e-6 of the minimum
    np.testing.assert_allclose(x[0], [1.0, 1.0], atol=1e-5)
    reference = minimize(rosen, [-1.2, 1.0], jac=rosen_der, method="L-BFGS-B", options={"gtol": 1e-10})
    np.testing.assert_allclose(x[0], reference.x, atol=1e-5)
    tight = LBFGS(tolerance_grad=1e-10, tolerance_change=1e-14)
    x, g, closure = rosenbrock_problem()
    for _ in range(3):
        tight.step(x, g, closure)
    np.testing.assert_allclose(x[0], [1.0, 1.0], atol=1e-7)
    assert tight.last_loss < 1e-15


def test_finds_the_minimum_of_a_50_dimensional_convex_quadratic():
    problem = Quadratic()
    opt = LBFGS(history=10, max_iter=200, tolerance_grad=1e-10, tolerance_change=1e-14)
    opt.step(problem.params, problem.grads, problem.closure)
    exact = np.linalg.solve(problem.A, problem.b)
    np.testing.assert_allclose(problem.flat(), exact, atol=1e-6)
    reference = minimize(lambda x: 0.5 * x @ problem.A @ x - problem.b @ x, np.zeros(50),
                         jac=lambda x: problem.A @ x - problem.b, method="L-BFGS-B",
                         options={"gtol": 1e-12, "ftol": 1e-15})
    np.testing.assert_allclose(problem.flat(), reference.x, atol=1e-5)
    assert problem.calls <= 250  # max_eval = 1.25 * max_iter


def test_float32_params_keep_float32_state_and_get_close():
    x, g, closure = rosenbrock_problem(np.float32)
    opt = LBFGS()
    for _ in range(5):
        opt.step(x, g, closure)
    assert x[0].dtype == np.float32
    np.testing.assert_allclose(x[0], [1.0, 1.0], atol=1e-3)
    arrays, _ = flatten_state(opt.state_dict())
    assert arrays and all(a.dtype == np.float32 for a in arrays.values())


def test_one_step_runs_at_most_max_iter_iterations_and_keeps_at_most_history_pairs():
    problem = Quadratic()
    opt = LBFGS(history=3, max_iter=7)
    opt.step(problem.params, problem.grads, problem.closure)
    extra = opt.state_dict()["extra"]
    assert extra["n_iter"] == 7
    assert len(extra["s"]) == len(extra["y"]) == len(extra["rho"]) == 3
    opt.step(problem.params, problem.grads, problem.closure)
    assert opt.state_dict()["extra"]["n_iter"] == 14


def test_the_fixed_step_variant_without_line_search_also_descends():
    problem = Quadratic()
    start = problem.closure()[0]
    opt = LBFGS(line_search="none", lr=0.005, max_iter=50)
    opt.step(problem.params, problem.grads, problem.closure)
    assert problem.closure()[0] < start - 1.0


def test_resuming_mid_run_from_a_checkpoint_continues_bit_for_bit():
    a, b = Quadratic(), Quadratic()
    first = LBFGS(max_iter=4)
    first.step(a.params, a.grads, a.closure)
    arrays, doc = flatten_state(first.state_dict())
    saved = unflatten_state({k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(doc)))
    for p, q in zip(b.params, a.params):
        p[...] = q
    second = LBFGS(max_iter=4)
    second.load_state_dict(saved)
    for _ in range(3):
        first.step(a.params, a.grads, a.closure)
        second.step(b.params, b.grads, b.closure)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_without_a_closure_it_is_a_clear_error():
    x, g, _ = rosenbrock_problem()
    with pytest.raises(corenn.CorennError, match="lbfgs: step\\(\\) needs a closure"):
        LBFGS().step(x, g)


def test_a_closure_that_returns_the_wrong_things_is_a_clear_error():
    x, g, _ = rosenbrock_problem()
    with pytest.raises(corenn.InvalidInput, match=r"must return \(loss, grads\)"):
        LBFGS().step(x, g, lambda: 1.0)
    with pytest.raises(corenn.InvalidInput, match="must match params"):
        LBFGS().step(x, g, lambda: (1.0, [np.zeros(3)]))
    with pytest.raises(corenn.InvalidInput, match="non-finite"):
        LBFGS().step(x, g, lambda: (float("nan"), [np.zeros(2)]))


def test_a_state_with_a_history_for_other_params_is_refused():
    problem = Quadratic()
    opt = LBFGS(max_iter=3)
    opt.step(problem.params, problem.grads, problem.closure)
    state = opt.state_dict()
    state["extra"]["s"][0] = state["extra"]["s"][0][:10]
    with pytest.raises(corenn.InvalidInput, match=r"lbfgs s\[0\] is float64 \(10,\), expected float64 \(50,\)"):
        LBFGS().load_state_dict(state)


@pytest.mark.parametrize(("field", "value"), [("history", 0), ("max_iter", 0), ("tolerance_grad", -1.0),
                                              ("line_search", "backtracking"), ("lr", 0.0)])
def test_bad_hyperparameters_are_refused(field, value):
    with pytest.raises(corenn.InvalidHyperparameter, match=field):
        LBFGS(**{field: value})


def ill_conditioned(seed=0):
    """f(x) = 0.5 x'Ax - b'x in 50 dimensions with condition number 1e3, as one (50,) array."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((50, 50)))
    A = q @ np.diag(np.geomspace(1.0, 1e3, 50)) @ q.T
    b = rng.standard_normal(50)
    x, g = [np.zeros(50)], [np.zeros(50)]

    def closure():
        g[0][...] = A @ x[0] - b
        return 0.5 * x[0] @ A @ x[0] - b @ x[0], g

    reference = minimize(lambda z: 0.5 * z @ A @ z - b @ z, np.zeros(50), jac=lambda z: A @ z - b,
                         method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000}).x
    return x, g, closure, reference


def test_repeated_steps_reach_scipy_s_optimum_of_an_ill_conditioned_quadratic_to_2e_5():
    x, g, closure, reference = ill_conditioned()
    opt = LBFGS()
    for _ in range(40):
        opt.step(x, g, closure)
    assert np.linalg.norm(x[0] - reference) / np.linalg.norm(reference) < 2e-5


def test_the_curvature_pairs_carry_over_from_one_step_call_to_the_next():
    x, g, closure, _ = ill_conditioned()
    opt = LBFGS(max_iter=5)
    opt.step(x, g, closure)
    first = opt.state_dict()["extra"]
    opt.step(x, g, closure)
    second = opt.state_dict()["extra"]
    assert second["n_iter"] > first["n_iter"] > 1 and len(second["s"]) > len(first["s"]) > 0
    for old, kept in zip(first["s"], second["s"]):  # the first call's pairs are still there, in order
        np.testing.assert_array_equal(old, kept)
    # the next call starts from that memory: a fresh optimizer at the same point takes another step
    x_before = x[0].copy()
    opt.step(x, g, closure)
    kept_step = x[0] - x_before
    x[0][...] = x_before
    LBFGS(max_iter=5).step(x, g, closure)
    assert not np.allclose(kept_step, x[0] - x_before)


def test_a_state_dict_round_trip_mid_run_keeps_the_curvature_history():
    a = ill_conditioned()
    b = ill_conditioned()
    first = LBFGS()
    for _ in range(3):
        first.step(a[0], a[1], a[2])
    arrays, doc = flatten_state(first.state_dict())
    second = LBFGS()
    second.load_state_dict(unflatten_state({k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(doc))))
    assert len(second.state_dict()["extra"]["s"]) == 10
    b[0][0][...] = a[0][0]
    for _ in range(20):
        first.step(a[0], a[1], a[2])
        second.step(b[0], b[1], b[2])
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert np.linalg.norm(b[0][0] - b[3]) / np.linalg.norm(b[3]) < 2e-5
