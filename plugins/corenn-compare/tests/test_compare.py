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
