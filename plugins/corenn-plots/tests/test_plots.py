"""`corenn plot RUN` and the plots callback: the figure of a finished, running and diverged run."""

import json
import os

import numpy as np
import pytest

import corenn
from corenn.cli import main
from corenn.run import RunConfig, train
from corenn.testing import check_component
from corenn_plots import FIGURE, Plots, plot_history, plot_run, read_history, smooth

QUICK = {"dataset": "spiral", "hidden": [16], "epochs": 3, "optimizer": "adam:lr=0.01"}


def assert_picture(path):
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[0] >= 600 and image.shape[1] >= 900
    assert image[..., :3].std() > 0.05, "not blank"


def test_plots_is_a_registered_default_callback():
    check_component(Plots, "callback")
    assert corenn.get("callback", "plots") is Plots and Plots.enabled_by_default
    with pytest.raises(corenn.InvalidHyperparameter, match="dpi"):
        Plots(dpi=0)


def test_smoothing_is_bias_corrected_and_follows_the_trend():
    np.testing.assert_allclose(smooth([2.0] * 5), 2.0)  # no pull towards zero at the start
    s = smooth(np.linspace(10, 0, 100) + np.tile([1.0, -1.0], 50))
    assert np.abs(np.diff(s[10:])).max() < 0.3 < np.abs(np.diff(np.tile([1.0, -1.0], 50))).max()  # the +-1 noise is damped
    assert s[-1] < s[0]


def test_training_leaves_the_figure_in_the_run_folder_and_plot_redraws_it(tmp_path, capsys):
    folder = tmp_path / "run"
    cfg = RunConfig.from_mapping({**QUICK, "callbacks": ["plots"], "default_callbacks": False})
    train(cfg, folder)
    assert_picture(folder / FIGURE)
    history, source = read_history(folder)
    assert source.endswith("history.json") and len(history.epochs) == 3
    assert main(["plot", str(folder), "--out", str(tmp_path / "figs")]) == 0
    out = capsys.readouterr().out
    assert "history.json: 12 steps, 3 epochs" in out  # 216 points in batches of 64, 3 epochs
    assert_picture(tmp_path / "figs" / FIGURE)


def test_a_run_in_progress_is_read_from_its_checkpoint(tmp_path):
    folder = tmp_path / "run"
    seen = []

    class PlotMidway(corenn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:  # the checkpoint of epochs 0 and 1 exists, history.json does not yet
                seen.append(plot_run(folder, tmp_path / "midway"))

    cfg = RunConfig.from_mapping({**QUICK, "epochs": 4, "default_callbacks": False})
    train(cfg, folder, callbacks=[PlotMidway()])
    (path, history, source), = seen
    assert source.endswith("checkpoint.npz") and len(history.epochs) == 2 and len(history.loss) == 8  # 4 a epoch
    assert_picture(path)
    # once finished, history.json is newer and complete
    assert len(read_history(folder)[0].epochs) == 4
    # a checkpoint newer than history.json (a resumed run going on) wins
    later = os.stat(folder / "history.json").st_mtime + 10
    os.utime(folder / "checkpoint.npz", (later, later))
    assert read_history(folder)[1].endswith("checkpoint.npz")


def test_a_diverged_run_still_gets_its_figure(tmp_path, capsys):
    folder = tmp_path / "run"
    code = main(["train", "--hidden", "128,64", "--epochs", "1", "--optimizer", "sgd:lr=20.0", "--no-progress",
                 "--out", str(folder)])
    assert code == 2
    assert f"figure: {folder / FIGURE}" in capsys.readouterr().out.replace("\n", "")
    assert_picture(folder / FIGURE)
    assert json.loads((folder / "history.json").read_text())["stopped"] == "diverged"


def test_an_empty_history_draws_empty_axes_without_error(tmp_path):
    from corenn.trainer import History

    assert plot_history(History(), tmp_path / "empty.png").stat().st_size > 1000


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path, capsys, make):
    folder = tmp_path / "x"
    if make == "empty":
        folder.mkdir()
    assert main(["plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def _drawn(monkeypatch, history, title=""):
    """The titles plot_history gives the figure: (the figure's, the loss plot's)."""
    import corenn_plots

    seen = {}

    def keep(fig, path, dpi=None):
        seen["suptitle"] = fig._suptitle.get_text() if fig._suptitle else ""
        seen["loss"] = fig.axes[0].get_title()
        return path

    monkeypatch.setattr(corenn_plots, "save_figure", keep)
    plot_history(history, "unused.png", title=title)
    return seen["suptitle"], seen["loss"]


def test_a_long_title_is_wrapped_whole_and_a_finished_resumed_run_is_not_interrupted(monkeypatch):
    from corenn.trainer import History

    history = History(loss=[1.0, 0.5], data_loss=[1.0, 0.5], reg_loss=[0.0, 0.0], lr=[0.1, 0.1])
    long = "run-" + ", ".join(f"option{i} value{i}" for i in range(20)) + ", folder /a/long/path/to/the/run"
    suptitle, loss = _drawn(monkeypatch, history, title=long)
    assert suptitle.replace("\n", " ") == long and "\n" in suptitle and "/a/long/path/to/the/run" in suptitle
    assert loss == "loss"  # stopped is None: a resumed run that finished
    history.stopped = "interrupted"
    assert "interrupted" in _drawn(monkeypatch, history)[1]


def test_plot_json_says_what_it_read_and_drew(tmp_path, capsys):
    folder = tmp_path / "run"
    train(RunConfig.from_mapping({**QUICK, "default_callbacks": False}), folder)
    assert main(["plot", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"figure": str(folder / FIGURE), "source": doc["source"], "steps": doc["steps"], "epochs": 3,
                   "stopped": None}
    assert (folder / FIGURE).is_file()


def test_a_run_with_the_dead_units_callback_gets_a_dead_units_panel(tmp_path):
    import matplotlib.image

    from corenn.trainer import History

    history = History(loss=list(np.linspace(2.3, 0.5, 60)), lr=[0.01] * 60,
                      series={"dead_units": [{"step": t, "1.relu": t / 100, "3.relu": 0.05} for t in range(0, 60, 10)]})
    with_panel = matplotlib.image.imread(plot_history(history, tmp_path / "dead.png"))
    history.series = {}
    without = matplotlib.image.imread(plot_history(history, tmp_path / "plain.png"))
    assert with_panel.shape[0] > 1.2 * without.shape[0] and with_panel.shape[1] == without.shape[1]
    assert_picture(tmp_path / "dead.png")


def test_corenn_train_records_dead_units_by_default_and_the_figure_shows_them(tmp_path):
    result = train(RunConfig.from_mapping({**QUICK, "hidden": [16, 16]}), tmp_path / "run")
    rows = result.history.series["dead_units"]
    assert rows and set(rows[0]) == {"step", "1.relu", "3.relu"}
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert saved["series"]["dead_units"] == rows
    assert_picture(tmp_path / "run" / FIGURE)
