"""The tutorial's activation-statistics experiment, asserted on its numbers (10 layers of 500 units)."""

import json

import numpy as np
import pytest

from corenn.cli import main
from corenn_diagnose import activation_statistics, plot_activation_statistics, verdict


@pytest.fixture(scope="module")
def experiment():
    cache = {}

    def run(activation, init):
        if (activation, init) not in cache:
            cache[activation, init] = activation_statistics(activation, init, layers=10, units=500, samples=500)
        return cache[activation, init]

    return run


def test_small_random_weights_collapse_tanh_to_zero(experiment):
    stats = experiment("tanh", "normal:std=0.01")
    std = stats.column("std")
    assert np.all(np.diff(std) < 0), "each layer shrinks the signal"
    assert std[0] == pytest.approx(np.tanh(0.01 * np.sqrt(500)), rel=0.1)  # ~0.22, the first layer's scale
    assert std[-1] < 1e-5, "ten layers later nearly every output is 0"
    assert np.all(np.abs(stats.column("mean")) < 1e-3)
    # backward: the gradient reaching the lower layers shrinks with them
    assert stats.rows[0]["grad_std"] < 1e-4 * stats.rows[-1]["grad_std"]
    assert verdict(stats).startswith("collapsing")


def test_unit_variance_weights_saturate_tanh_at_plus_minus_one(experiment):
    stats = experiment("tanh", "normal:std=1.0")
    for h, row in zip(stats.outputs, stats.rows):
        assert np.mean(np.abs(h) > 0.95) > 0.8, f"layer {row['layer']}: most outputs sit near +-1"
        assert row["flat"] > 0.8  # their local gradient 1 - tanh^2 is below 0.01
        assert row["std"] > 0.95
    assert verdict(stats).startswith("saturated")


def test_xavier_keeps_tanh_healthy(experiment):
    stats = experiment("tanh", "xavier")
    std = stats.column("std")
    assert np.all((std > 0.15) & (std < 0.8)), std
    assert std[-1] / std[0] > 0.3
    assert np.all(stats.column("flat") < 0.05)
    assert verdict(stats).startswith("healthy")


def test_he_rescues_relu_where_xavier_collapses(experiment):
    xavier, he = experiment("relu", "xavier"), experiment("relu", "he")
    assert xavier.rows[-1]["std"] < 0.1 * xavier.rows[0]["std"], "xavier halves relu's variance layer after layer"
    assert 0.5 < he.rows[-1]["std"] / he.rows[0]["std"] < 2.0, "he keeps it"
    assert he.rows[-1]["std"] > 20 * xavier.rows[-1]["std"]
    assert verdict(xavier).startswith("collapsing") and verdict(he).startswith("healthy")
    # backward: with he the gradient reaching layer 1 keeps its scale
    assert he.rows[0]["grad_std"] > 0.5 * he.rows[-1]["grad_std"]
    assert xavier.rows[0]["grad_std"] < 0.1 * xavier.rows[-1]["grad_std"]


def test_the_experiment_is_seeded_and_validates_its_sizes():
    a = activation_statistics("tanh", "xavier", layers=3, units=50, samples=100, seed=4)
    b = activation_statistics("tanh", "xavier", layers=3, units=50, samples=100, seed=4)
    assert a.rows == b.rows
    with pytest.raises(Exception, match="layers"):
        activation_statistics("tanh", "xavier", layers=0)


def test_the_figure_is_a_real_picture(tmp_path):
    import matplotlib.image

    stats = activation_statistics("tanh", "xavier", layers=6, units=100, samples=200)
    path = plot_activation_statistics(stats, tmp_path / "a.png")
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 800
    assert image[..., :3].std() > 0.05, "not blank"


def test_the_command_prints_the_table_and_writes_figure_and_numbers(tmp_path, capsys):
    code = main(["diagnose", "activations", "--activation", "relu", "--init", "he", "--layers", "4",
                 "--units", "100", "--samples", "200", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "layer" in out and "healthy" in out
    png, numbers = tmp_path / "activations-relu-he.png", tmp_path / "activations-relu-he.json"
    assert png.stat().st_size > 10_000
    doc = json.loads(numbers.read_text())
    assert [row["layer"] for row in doc["layers"]] == [1, 2, 3, 4]


def test_the_command_json_is_the_numbers_file_with_the_verdict_and_the_files(tmp_path, capsys):
    code = main(["diagnose", "activations", "--activation", "tanh", "--init", "normal:std=0.01", "--layers", "3",
                 "--units", "50", "--samples", "100", "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)
    numbers = json.loads((tmp_path / doc["numbers"]).read_text())
    assert doc == {**numbers, "verdict": doc["verdict"], "figure": doc["figure"], "numbers": doc["numbers"]}
    assert doc["verdict"].startswith("collapsing") and doc["figure"].endswith(".png")


def test_a_bad_spec_is_a_one_line_error(tmp_path, capsys):
    code = main(["diagnose", "activations", "--activation", "tahn", "--out", str(tmp_path)])
    assert code == 2
    assert "tanh" in capsys.readouterr().err  # did you mean
