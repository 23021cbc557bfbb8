"""Optimizers racing on 2-D functions: who ends lower where the answer is clear, and the figures."""

import numpy as np
import pytest

import corenn
from corenn.cli import main
from corenn_compare import SURFACES, animate_race, plot_curves, plot_race, race, train_curves

TINY = 'dataset = "spiral:points_per_class=60"\nhidden = [16]\nepochs = 3\nbatch_size = 32\n'


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_each_function_has_the_gradient_it_claims_and_its_minimum(name):
    s = SURFACES[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x, y = rng.uniform(*s.xlim), rng.uniform(*s.ylim)
        h = 1e-6
        numeric = ((s.f(x + h, y) - s.f(x - h, y)) / (2 * h), (s.f(x, y + h) - s.f(x, y - h)) / (2 * h))
        np.testing.assert_allclose(s.grad(x, y), numeric, rtol=1e-5, atol=1e-5)
    if s.minimum is not None:
        np.testing.assert_allclose(s.grad(*s.minimum), (0.0, 0.0), atol=1e-12)
        assert s.f(*s.minimum) == pytest.approx(0.0, abs=1e-12)


def test_momentum_crosses_the_narrow_bowl_that_sgd_crawls_along():
    # same lr: sgd's step along the flat x axis is 0.1 * x/10, momentum's builds up to ten times that
    r = race(["sgd", "momentum", "nesterov"], "quadratic", steps=100, lr=0.1)
    sgd, momentum, nesterov = (t.final for t in r.trajectories)
    assert momentum < sgd / 1000
    assert nesterov < momentum  # the look-ahead damps the overshoot
    assert [t.spec for t in r.trajectories] == ["sgd:lr=0.1", "momentum:lr=0.1", "nesterov:lr=0.1"]
    assert all(len(t.points) == 101 and not t.left for t in r.trajectories)
    np.testing.assert_array_equal(r.trajectories[0].points[0], SURFACES["quadratic"].start)


def test_momentum_follows_the_rosenbrock_valley_far_beyond_sgd():
    r = race(["sgd:lr=0.001", "momentum:lr=0.001,mu=0.9"], "rosenbrock", steps=500)
    sgd, momentum = r.trajectories
    assert momentum.final < sgd.final / 100
    assert r.rows()[1]["distance"] < 0.5 < r.rows()[0]["distance"]


def test_adaptive_steps_leave_a_saddle_point_that_plain_sgd_lingers_at():
    # near the saddle the gradient along y is tiny: sgd's steps are tiny too, rmsprop's are normalized
    r = race(["sgd:lr=0.05", "rmsprop:lr=0.05"], "saddle", steps=100)
    sgd, rmsprop = r.trajectories
    assert rmsprop.left and len(rmsprop.points) < len(sgd.points) / 2
    assert abs(sgd.points[20, 1]) < 0.01 < abs(rmsprop.points[10, 1])


def test_an_optimizer_spec_keeps_its_own_lr_and_the_function_default_fills_in():
    r = race(["adam:lr=0.2", "adam", "sgd"], "quadratic", steps=3)
    assert [t.spec for t in r.trajectories] == ["adam:lr=0.2", "adam:lr=0.1", "sgd:lr=0.1"]


@pytest.mark.skipif("lbfgs" not in corenn.available("optimizer"), reason="corenn-lbfgs not installed")
def test_lbfgs_gets_its_closure_and_solves_rosenbrock():
    r = race(["lbfgs"], "rosenbrock", steps=10)
    assert r.trajectories[0].final < 1e-8


def test_a_diverging_optimizer_stops_where_it_leaves_the_picture():
    r = race(["sgd:lr=2.0"], "quadratic", steps=50)
    assert r.trajectories[0].left and len(r.trajectories[0].points) < 51
    assert np.all(np.isfinite(r.trajectories[0].values))


def test_race_and_animation_figures_are_real_pictures(tmp_path):
    import matplotlib.image
    from PIL import Image

    r = race(["sgd", "momentum", "adam"], "rosenbrock", steps=40)
    png = plot_race(r, tmp_path / "race.png")
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (600, 800) and image[..., :3].std() > 0.05
    gif = animate_race(r, tmp_path / "race.gif", frames=10)
    with Image.open(gif) as im:
        assert im.n_frames == 10
        first = np.asarray(im.convert("RGB"), dtype=float)
        im.seek(9)
        last = np.asarray(im.convert("RGB"), dtype=float)
    assert first.std() > 10 and np.abs(first - last).mean() > 0.1, "the trajectories grow between frames"


def test_training_curves_of_the_same_optimizers_on_one_figure(tmp_path):
    import matplotlib.image

    from corenn.run import RunConfig

    cfg = RunConfig.from_mapping({"dataset": "spiral:points_per_class=60", "hidden": [16], "epochs": 3,
                                  "batch_size": 32})
    curves = train_curves(["sgd:lr=0.001", "adam:lr=0.05"], cfg)
    sgd, adam = curves
    assert len(sgd.loss) == len(adam.loss) == 3 * 5  # 144 training points in batches of 32, 3 epochs
    assert sgd.loss[0] == pytest.approx(adam.loss[0])  # same initial weights, same first batch
    assert np.mean(adam.loss[-5:]) < np.mean(sgd.loss[-5:])
    image = matplotlib.image.imread(plot_curves(curves, tmp_path / "curves.png"))
    assert image[..., :3].std() > 0.05


def test_the_command_writes_png_and_gif_and_with_train_a_config_the_curves(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    code = main(["compare", "optimizers", "sgd", "momentum", "--steps", "20", "--out", str(tmp_path),
                 "--train", str(config), "--epochs", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "momentum:lr=0.1" in out and "final loss" in out
    for name in ("optimizers-quadratic.png", "optimizers-quadratic.gif", "optimizers-training.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name


def test_train_default_uses_digits_and_the_default_model(tmp_path, capsys):
    code = main(["compare", "optimizers", "sgd", "adam", "--no-gif", "--steps", "10", "--train", "default",
                 "--epochs", "1", "--out", str(tmp_path)])
    assert code == 0
    assert "adam: final loss" in capsys.readouterr().out
    assert (tmp_path / "optimizers-training.png").is_file()


def test_an_unknown_function_is_a_one_line_error(tmp_path, capsys):
    assert main(["compare", "optimizers", "sgd", "--function", "himmelblau", "--out", str(tmp_path)]) == 2
    assert "rosenbrock" in capsys.readouterr().err


# -- Newton's method on the 2-D functions ----------------------------------------------------------------------


def test_the_numeric_hessian_matches_the_analytic_one_on_the_quadratic_and_rosenbrock():
    from corenn_compare import hessian

    np.testing.assert_allclose(hessian(SURFACES["quadratic"], 3.0, -1.0), [[0.1, 0.0], [0.0, 2.0]], atol=1e-8)
    x, y = -0.7, 1.3
    exact = [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(hessian(SURFACES["rosenbrock"], x, y), exact, rtol=1e-6)


def test_newton_needs_no_learning_rate_one_step_solves_the_narrow_bowl():
    r = race(["newton", "sgd"], "quadratic", steps=5)
    newton, sgd = r.trajectories
    assert newton.spec == "newton:lr=1"
    np.testing.assert_allclose(newton.points[1], [0.0, 0.0], atol=1e-8)
    assert sgd.final > 1.0


def test_newton_follows_the_rosenbrock_valley_to_1_1_in_a_few_steps():
    r = race(["newton"], "rosenbrock", steps=10)
    np.testing.assert_allclose(r.trajectories[0].points[-1], [1.0, 1.0], atol=1e-8)


def test_newton_heads_for_the_saddle_point_that_gradient_descent_leaves():
    r = race(["newton", "sgd:lr=0.05"], "saddle", steps=100)
    newton, sgd = r.trajectories
    np.testing.assert_allclose(newton.points[1], [0.0, 0.0], atol=1e-8)  # a stationary point, not a minimum
    assert sgd.left  # gradient descent rolls off down the y axis


def test_newton_takes_only_a_positive_lr(tmp_path, capsys):
    half = race(["newton:lr=0.5"], "quadratic", steps=1).trajectories[0]
    np.testing.assert_allclose(half.points[1], np.asarray(SURFACES["quadratic"].start) / 2, atol=1e-8)
    with pytest.raises(corenn.InvalidInput, match="newton takes only lr"):
        race(["newton:mu=0.9"], "quadratic")
    assert main(["compare", "optimizers", "newton:lr=-1", "--no-gif", "--out", str(tmp_path)]) == 2
    assert "newton's lr must be > 0" in capsys.readouterr().err


def test_optimizers_json_holds_the_race_rows(tmp_path, capsys):
    import json

    assert main(["compare", "optimizers", "sgd", "newton", "--steps", "20", "--no-gif", "--json",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["function"] == "quadratic" and [row["optimizer"] for row in doc["race"]] == ["sgd:lr=0.1", "newton:lr=1"]
    assert doc["race"][1]["distance"] < 1e-8 and doc["figures"] == [str(tmp_path / "optimizers-quadratic.png")]


# -- activations racing on digits ----------------------------------------------------------------------------


def test_each_activation_gets_its_initialization_rule():
    from corenn_compare import init_for

    assert {a: init_for(a) for a in ("relu", "leaky_relu", "elu", "tanh", "sigmoid")} == {
        "relu": "he", "leaky_relu": "he", "elu": "he", "tanh": "xavier", "sigmoid": "xavier"}


@pytest.fixture(scope="module")
def activation_race():
    from corenn.run import RunConfig
    from corenn_compare import race_activations

    cfg = RunConfig.from_mapping({"dataset": "digits", "hidden": [64], "epochs": 4, "optimizer": "sgd:lr=0.05"})
    return race_activations(["relu", "tanh", "sigmoid"], cfg, target=0.8)


def test_relu_reaches_the_target_accuracy_while_sigmoid_still_crawls(activation_race):
    relu, tanh, sigmoid = activation_race
    assert (relu.init, tanh.init, sigmoid.init) == ("he", "xavier", "xavier")
    assert relu.epochs_to_target is not None and sigmoid.epochs_to_target is None
    assert relu.curve.val_acc[relu.epochs_to_target - 1] >= 0.8
    assert all(a < 0.8 for a in relu.curve.val_acc[:relu.epochs_to_target - 1])
    assert np.mean(relu.curve.loss[-10:]) < 0.75 * np.mean(sigmoid.curve.loss[-10:])
    assert tanh.epochs_to_target is not None  # zero-centred tanh keeps up with relu on digits; sigmoid does not
    assert len(relu.curve.loss) == len(sigmoid.curve.loss)  # same data, batches and epochs


def test_the_activation_command_prints_the_table_or_json_and_draws_the_curves(tmp_path, capsys):
    import json

    args = ["compare", "activations", "relu", "sigmoid", "--epochs", "1", "--target", "0.5", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "epochs to 0.5" in out and "he" in out and "xavier" in out
    assert (tmp_path / "activations-training.png").stat().st_size > 10_000
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [row["activation"] for row in doc["race"]] == ["relu", "sigmoid"] and doc["target"] == 0.5
    assert doc["race"][0]["epochs_to_target"] in (1, 2) and doc["optimizer"] == "sgd:lr=0.05"
    assert main(["compare", "activations", "relu", "--target", "2", "--out", str(tmp_path)]) == 2
