"""corenn search: parameter spaces, seeded sampling, coarse-to-fine narrowing, edge warnings, SQLite
storage that resumes, failed trials, the local pool and the command line.

The Dask cluster tests are in test_search_cluster.py.
"""

import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib

import corenn
import numpy as np
import pytest
from corenn.cli import main
from corenn.run import RunConfig

import corenn_search as cs
from corenn_search.space import apply_params, check_space

SMALL = {"dataset": "digits", "hidden": [16], "epochs": 1}
LR = "optimizer.lr=log:1e-4..1e-1"


def run_cli(*args):
    return main([str(a) for a in args])


def numbers(result):
    """What a trial computed, by (stage, index), for comparing searches."""
    return {(t.stage, t.index): (t.params, t.status, t.val_acc, t.val_loss, t.train_acc) for t in result.trials}


# -- parameter spaces ---------------------------------------------------------------------------------

def test_each_distribution_parses_and_samples_inside_its_range():
    rng = np.random.default_rng(0)
    log = cs.Param.parse("optimizer.lr=log:1e-5..1e-1")
    assert (log.dist, log.low, log.high) == ("log", 1e-5, 1e-1)
    draws = np.array([log.sample(rng) for _ in range(4000)])
    assert draws.min() >= 1e-5 and draws.max() <= 1e-1
    # log-uniform: each decade gets a quarter of the draws; the median sits near 1e-3, not near 0.05
    assert 10 ** np.median(np.log10(draws)) == pytest.approx(1e-3, rel=0.15)
    assert np.mean(draws < 1e-4) == pytest.approx(0.25, abs=0.03)
    uniform = cs.Param.parse("dropout=uniform:0.2..0.8")
    u = np.array([uniform.sample(rng) for _ in range(4000)])
    assert 0.2 <= u.min() and u.max() <= 0.8 and np.mean(u) == pytest.approx(0.5, abs=0.02)
    integer = cs.Param.parse("epochs=int:2..4")
    assert sorted({integer.sample(rng) for _ in range(200)}) == [2, 3, 4]  # both ends included
    choice = cs.Param.parse("hidden=choice:[16]|[32, 16]|[64]")
    assert choice.choices == ([16], [32, 16], [64])
    assert {json.dumps(choice.sample(rng)) for _ in range(200)} == {"[16]", "[32, 16]", "[64]"}
    assert cs.Param.parse("activation=choice:relu|tanh").choices == ("relu", "tanh")
    assert str(log) == "optimizer.lr=log:1e-05..0.1"


@pytest.mark.parametrize(("text", "message"), [
    ("optimizer.lr=log:1e-2..1e-5", "must be below"),
    ("optimizer.lr=log:1e-3..1e-3", "must be below"),
    ("optimizer.lr=log:0..1e-2", "positive bounds"),
    ("optimizer.lr=log:-1..1", "positive bounds"),
    ("optimizer.lr=lgo:1e-5..1e-2", "did you mean 'log'"),
    ("optimizer.lr=log:1e-5", "LOW..HIGH"),
    ("optimizer.lr=uniform:a..1", "not a number"),
    ("epochs=int:1.5..3", "not an integer"),
    ("activation=choice:relu", "at least two"),
    ("activation=choice:relu|relu", "twice"),
    ("optimizer.lr", "PATH=DIST:RANGE"),
])
def test_a_bad_range_is_a_clear_error(text, message):
    with pytest.raises(cs.SearchError, match=message):
        cs.Param.parse(text)


@pytest.mark.parametrize(("param", "message"), [
    ("optimizr.lr=log:1e-5..1e-2", "did you mean 'optimizer'"),
    ("optimizer.learning_rate=log:1e-5..1e-2", "adam' has no hyperparameter 'learning_rate'"),
    ("optimizer.l=log:1e-5..1e-2", "did you mean 'lr'"),
    ("hidden.width=int:8..64", "'hidden' is not a component spec"),
    ("regularizer.strength=log:1e-6..1e-1", "the config has no regularizer"),
    ("optimizer.mu.start=uniform:0.5..0.9", "one dot"),
    ("optimizer.lr=uniform:-0.1..0.1", "not allowed: adam: lr=-0.1"),
    ("dropout=uniform:0.5..1.5", "not allowed"),
    ("optimizer=choice:adam|nope", "unknown optimizer 'nope'"),
])
def test_a_path_must_name_a_real_hyperparameter_and_values_must_be_allowed(param, message):
    with pytest.raises(corenn.CorennError, match=message):
        check_space(RunConfig().to_dict(), cs.parse_params([param]))


def test_a_hyperparameter_of_a_searched_component_must_exist_in_every_choice():
    base = RunConfig().to_dict()
    check_space(base, cs.parse_params(["optimizer=choice:sgd|adam", "optimizer.lr=log:1e-4..1e-1"]))
    with pytest.raises(cs.SearchError, match="sgd' has no hyperparameter 'beta1'"):
        check_space(base, cs.parse_params(["optimizer=choice:sgd|adam", "optimizer.beta1=uniform:0.8..0.99"]))


def test_values_go_into_the_config_as_mapping_specs():
    base = {"optimizer": "adam:lr=0.001,beta1=0.95", "regularizer": "l2", "epochs": 5, "dataset": "digits"}
    config = apply_params(base, {"optimizer.lr": 0.01, "regularizer.strength": 1e-3, "epochs": 2,
                                 "dataset": "spiral"})
    assert config["optimizer"] == {"name": "adam", "lr": 0.01, "beta1": 0.95}
    assert config["regularizer"] == {"name": "l2", "strength": 1e-3}
    assert config["epochs"] == 2 and config["dataset"] == "spiral" and base["optimizer"] == "adam:lr=0.001,beta1=0.95"
    # a whole component is replaced before its hyperparameter is set
    assert apply_params(base, {"optimizer.lr": 0.1, "optimizer": "sgd"})["optimizer"] == {"name": "sgd", "lr": 0.1}


def test_sampling_is_seeded_per_trial_and_independent_of_order():
    space = cs.parse_params([LR, "regularizer.strength=log:1e-6..1e-1", "activation=choice:relu|tanh"])
    forward = [cs.sample(space, 7, 0, i) for i in range(10)]
    backward = [cs.sample(space, 7, 0, i) for i in reversed(range(10))][::-1]
    assert forward == backward
    assert cs.sample(space, 8, 0, 3) != forward[3] and cs.sample(space, 7, 1, 3) != forward[3]
    assert len({json.dumps(v) for v in forward}) == 10


def test_the_fine_ranges_narrow_around_the_best_trials_in_each_parameters_own_space():
    lr, act = cs.Param.parse(LR), cs.Param.parse("activation=choice:relu|tanh|sigmoid")
    # accuracy peaks at lr = 1e-2; the top 20% of 20 trials are the 4 nearest to it in log space
    values = np.logspace(-4, -1, 20)
    trials = [cs.Trial(0, i, {"optimizer.lr": float(v), "activation": "tanh" if i % 2 else "relu"}, "ok",
                       val_acc=1 - abs(math.log10(v) + 2) / 3) for i, v in enumerate(values)]
    fine_lr, fine_act = cs.narrow([lr, act], trials, fraction=0.2)
    top = sorted(values, key=lambda v: abs(math.log10(v) + 2))[:4]
    span = math.log10(max(top)) - math.log10(min(top))
    pad = max(0.25 * span, 0.05 * 3)  # a quarter of the span, at least 5% of the 3 decades
    assert math.log10(fine_lr.low) == pytest.approx(math.log10(min(top)) - pad, abs=0.01)
    assert math.log10(fine_lr.high) == pytest.approx(math.log10(max(top)) + pad, abs=0.01)
    assert lr.low < fine_lr.low < 1e-2 < fine_lr.high < lr.high
    assert fine_act.choices == ("relu", "tanh")  # sigmoid never made the top
    # the narrowed range never leaves the original one, and failed trials never steer it
    edge = [cs.Trial(0, i, {"optimizer.lr": v}, "ok", val_acc=v) for i, v in enumerate([0.09, 0.1, 1e-4])]
    edge.append(cs.Trial(0, 9, {"optimizer.lr": 1e-3}, "failed", error="diverged"))
    (fine,) = cs.narrow([lr], edge, fraction=0.2)
    assert fine.high == lr.high and fine.low == pytest.approx(0.09 * 10 ** -(0.05 * 3), rel=0.01)


def test_a_best_value_in_the_outer_tenth_of_its_range_is_reported_with_a_widened_range():
    lr = cs.Param.parse("optimizer.lr=log:1e-4..1e-3")
    base = RunConfig().to_dict()
    best = cs.Trial(1, 14, {"optimizer.lr": 9.4e-4}, "ok", val_acc=0.53)  # the tutorial's suspect trial
    (warning,) = cs.edge_warnings([[lr]], best, base)
    assert warning.side == "high" and warning.suggestion.low == 1e-4 and warning.suggestion.high == pytest.approx(
        10 ** -2.5, rel=0.01)
    assert "highest tenth" in str(warning) and "--param optimizer.lr=log:0.0001..0.00316" in str(warning)
    # the tenth is measured in log space: 2e-4 is 30% of the way in log space (but 11% linearly)
    assert cs.edge_warnings([[lr]], cs.Trial(0, 0, {"optimizer.lr": 2e-4}, "ok", val_acc=0.5), base) == []
    low = cs.edge_warnings([[lr]], cs.Trial(0, 0, {"optimizer.lr": 1.2e-4}, "ok", val_acc=0.5), base)
    assert low[0].side == "low" and low[0].suggestion.low == pytest.approx(10 ** -4.5, rel=0.01)
    # where the component allows no wider range, the warning says so instead of suggesting one
    keep = cs.Param.parse("dropout=uniform:0.5..1.0")
    (at_limit,) = cs.edge_warnings([[keep]], cs.Trial(0, 0, {"dropout": 0.98}, "ok", val_acc=0.9), base)
    assert at_limit.limit and "cannot widen" in str(at_limit)


def test_importance_ranks_the_parameter_that_drives_accuracy_first():
    rng = np.random.default_rng(0)
    trials = []
    for i in range(40):
        lr, reg = 10 ** rng.uniform(-4, -1), 10 ** rng.uniform(-6, -1)
        trials.append(cs.Trial(0, i, {"optimizer.lr": lr, "regularizer.strength": reg}, "ok",
                               val_acc=-abs(math.log10(lr) + 2.5) + 0.05 * rng.normal()))
    space = cs.parse_params([LR, "regularizer.strength=log:1e-6..1e-1"])
    ranking = cs.importance(space, trials)
    # accuracy peaks inside the lr range: no monotone trend, but the binned correlation ratio sees it
    assert ranking["regularizer.strength"] < 0.4 < 0.8 < ranking["optimizer.lr"] <= 1
    # a monotone effect and a choice
    trials = [cs.Trial(0, i, {"dropout": d, "activation": a}, "ok", val_acc=d + (a == "tanh"))
              for i, (d, a) in enumerate(zip(np.linspace(0.3, 0.9, 12), ["relu", "tanh"] * 6))]
    ranking = cs.importance(cs.parse_params(["dropout=uniform:0.3..0.9", "activation=choice:relu|tanh"]), trials)
    assert ranking["activation"] > 0.8 and 0.1 < ranking["dropout"] < ranking["activation"]


# -- storage --------------------------------------------------------------------------------------------

def test_storage_is_sqlite_in_wal_mode_and_refuses_another_search(tmp_path):
    path = tmp_path / "s.sqlite"
    store = cs.Storage.open(path, {"config": {"epochs": 1}, "params": [LR], "seed": 0})
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.add(cs.Trial(0, 0, {"optimizer.lr": 0.01}, "ok", val_acc=0.5))
    assert not store.add(cs.Trial(0, 0, {"optimizer.lr": 0.01}, "ok", val_acc=0.9))  # never replaced
    # committed: another connection sees it while this one is still open
    other = sqlite3.connect(path)
    assert other.execute("SELECT stage, idx, val_acc FROM trials").fetchall() == [(0, 0, 0.5)]
    other.close()
    store.close()
    again = cs.Storage.open(path, {"config": {"epochs": 1}, "params": [LR], "seed": 0})
    assert [t.val_acc for t in again.trials()] == [0.5]
    again.close()
    with pytest.raises(cs.SearchError, match=r"holds another search .*config epochs.*--force-new"):
        cs.Storage.open(path, {"config": {"epochs": 2}, "params": [LR], "seed": 0})
    fresh = cs.Storage.open(path, {"config": {"epochs": 2}, "params": [LR], "seed": 0}, force_new=True)
    assert fresh.trials() == []
    fresh.close()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all, " * 100)
    with pytest.raises(corenn.InvalidFile, match="not a corenn search storage"):
        cs.Storage.open(junk, {"seed": 0})


# -- searches -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_stage(tmp_path_factory):
    """A two-stage search on digits, in this process, stopped after 3 trials and then resumed."""
    out = tmp_path_factory.mktemp("search")
    params = [LR, "regularizer.strength=log:1e-6..1e-1"]
    config = {**SMALL, "regularizer": "l2"}
    seen = []

    def stop_after_three(trial):
        seen.append(trial)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cs.search(config, params, trials=5, stages=2, workers=0, out=out, on_trial=stop_after_three)
    with sqlite3.connect(out / cs.STORAGE_FILE) as conn:
        before = conn.execute("SELECT stage, idx, finished, session FROM trials ORDER BY stage, idx").fetchall()
    stages = []
    result = cs.search(config, params, trials=5, stages=2, workers=0, out=out,
                       on_stage=lambda *a: stages.append(a))
    return {"out": out, "before": before, "result": result, "config": config, "params": params, "stages": stages}


def test_a_two_stage_search_runs_every_trial_and_narrows_the_second_stage(two_stage):
    result = two_stage["result"]
    assert len(result.trials) == 10 and all(t.ok for t in result.trials)
    assert [t.val_acc for t in result.trials] == sorted((t.val_acc for t in result.trials), reverse=True)
    coarse, fine = result.stages[0][0], result.stages[1][0]
    for a, b in zip(coarse, fine):
        assert a.low <= b.low < b.high <= a.high and (b.low, b.high) != (a.low, a.high)
    # every fine trial was drawn from the fine ranges
    for t in result.trials:
        for p in result.stages[t.stage][0]:
            assert p.low <= t.params[p.path] <= p.high
    assert 0 < result.best.val_acc <= 1 and result.best == result.trials[0]


def test_an_interrupted_search_resumes_without_rerunning_a_finished_trial(two_stage):
    before, result = two_stage["before"], two_stage["result"]
    assert len(before) == 3 and all(session == 1 for *_, session in before)
    with sqlite3.connect(two_stage["out"] / cs.STORAGE_FILE) as conn:
        after = conn.execute("SELECT stage, idx, finished, session FROM trials ORDER BY stage, idx").fetchall()
    assert [row for row in after if row[3] == 1] == before  # untouched, not run again
    assert len(after) == 10 and result.ran == 7
    assert [(stage, done) for stage, _, _, done in two_stage["stages"]] == [(0, 3), (1, 0)]
    # and the resumed search computed exactly what an uninterrupted one does
    whole = cs.search(two_stage["config"], two_stage["params"], trials=5, stages=2, workers=0,
                      out=two_stage["out"] / "whole", figure=False)
    assert numbers(whole) == numbers(result)


def test_running_a_finished_search_again_runs_nothing(two_stage):
    again = cs.search(two_stage["config"], two_stage["params"], trials=5, stages=2, workers=0,
                      out=two_stage["out"], figure=False)
    assert again.ran == 0 and numbers(again) == numbers(two_stage["result"])


def test_the_search_writes_its_figure_and_the_best_config(two_stage):
    result = two_stage["result"]
    png = result.figure.read_bytes()
    assert result.figure.name == "search.png" and png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    best = tomllib.loads(result.best_config.read_text())
    assert best["optimizer"]["lr"] == result.best.params["optimizer.lr"]
    assert best["regularizer"] == {"name": "l2", "strength": result.best.params["regularizer.strength"]}
    assert best["hidden"] == [16] and best["dataset"] == "digits"


def test_a_diverging_or_raising_trial_is_stored_as_failed_and_the_search_goes_on(tmp_path, monkeypatch):
    import corenn.run

    build = corenn.run.build_model

    def build_or_raise(cfg, *args):
        if cfg.hidden == [12]:
            raise RuntimeError("out of memory on this width")
        return build(cfg, *args)

    monkeypatch.setattr(corenn.run, "build_model", build_or_raise)
    result = cs.search({**SMALL, "optimizer": "sgd"}, ["optimizer.lr=log:1e3..1e6", "hidden=choice:[16]|[12]"],
                       trials=6, workers=0, out=tmp_path, figure=False)
    assert len(result.trials) == 6 and not any(t.ok for t in result.trials)
    reasons = {t.params["hidden"][0]: t.error for t in result.trials}
    assert reasons[12] == "RuntimeError: out of memory on this width"
    assert reasons[16].startswith("diverged: the loss became")
    stored = cs.show(tmp_path)
    assert [t.status for t in stored.trials] == ["failed"] * 6 and stored.best is None


def test_any_config_key_can_be_searched_and_a_searched_epochs_beats_fine_epochs(tmp_path):
    config = {**SMALL, "dataset": "spiral"}
    result = cs.search(config, ["epochs=int:1..3", "batch_size=choice:16|32", "dropout=uniform:0.6..1.0"],
                       trials=4, stages=2, fine_epochs=5, workers=0, out=tmp_path)
    assert len(result.trials) == 8 and all(t.ok for t in result.trials)
    assert all(t.epochs == t.params["epochs"] for t in result.trials)
    best = tomllib.loads(result.best_config.read_text())
    assert (best["epochs"], best["batch_size"], best["dropout"]) == tuple(
        result.best.params[k] for k in ("epochs", "batch_size", "dropout"))


def test_the_local_pool_computes_what_this_process_computes(tmp_path):
    config = {**SMALL, "epochs": 2}
    inline = cs.search(config, [LR], trials=4, workers=0, out=tmp_path / "a", figure=False)
    pooled = cs.search(config, [LR], trials=4, workers=2, out=tmp_path / "b", figure=False)
    assert numbers(pooled) == numbers(inline)
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert {t.worker for t in inline.trials} == {here} and here not in {t.worker for t in pooled.trials}


def test_an_unreachable_scheduler_is_a_quick_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    started = time.perf_counter()
    with pytest.raises(cs.SchedulerUnreachable, match=f"tcp://127.0.0.1:{port}.*dask scheduler"):
        cs.search(SMALL, [LR], trials=2, scheduler=f"tcp://127.0.0.1:{port}", connect_timeout=1,
                  out=tmp_path / "s")
    assert time.perf_counter() - started < 10
    assert not (tmp_path / "s").exists()


# -- the command line -----------------------------------------------------------------------------------

def test_the_plugin_imports_neither_dask_nor_matplotlib_until_they_are_used():
    code = ("import sys; from corenn.cli import build_app; build_app(); import corenn_search; "
            "print(sorted(m for m in ('distributed', 'dask', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


CLI = ["--dataset", "digits", "--hidden", "16", "--epochs", "1", "--no-progress"]


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "optimizer.lrr=log:1e-5..1e-2"], "did you mean 'lr'"),
    (["-p", "optimizer.lr=log:1e-2..1e-5"], "must be below"),
    (["-p", "optimizer.lr=log:0..1e-2"], "positive bounds"),
    (["-p", "regularizer.strength=log:1e-6..1e-1"], "the config has no regularizer"),
    ([], "nothing to search"),
])
def test_bad_input_exits_with_code_2_and_one_line(tmp_path, capsys, args, message):
    assert run_cli("search", *CLI, *args, "--out", tmp_path / "s") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_cli_search_edge_warning_show_and_refusing_another_config(tmp_path, capsys):
    out = tmp_path / "s"
    # learning rates far below the good ones, where the highest trains best, and a seed whose highest
    # draw lies in the top tenth of the range (in log space): the search must distrust it
    lr = cs.Param.parse("optimizer.lr=log:1e-7..1e-5")
    seed = next(s for s in range(100) if max(cs.sample([lr], s, 0, i)[lr.path] for i in range(3)) > 10 ** -5.2)
    args = ["search", *CLI, "-p", str(lr), "--trials", "3", "--workers", "0", "--seed", seed, "--out", out]
    assert run_cli(*args) == 0
    text = capsys.readouterr().out
    assert "warning: the best optimizer.lr=" in text and "highest tenth" in text
    assert "widen it: --param optimizer.lr=log:1e-07..0.0001" in text
    assert "rank" in text and "val acc" in text and "figure:" in text and (out / "search.png").is_file()
    assert run_cli("search", "--show", out) == 0
    shown = capsys.readouterr().out
    assert "stage 1: 3/3 trials" in shown and "unfinished" not in shown
    # the same storage with another config is refused, unless --force-new
    other = [a if a != "1" else "2" for a in args]  # --epochs 2
    assert other != args
    assert run_cli(*other) == 2
    assert "holds another search" in capsys.readouterr().err
    assert run_cli(*other, "--force-new") == 0
    assert "ran 3 trials this time" in capsys.readouterr().out
    assert run_cli("search", "--show", tmp_path / "nothing-here") == 2


def test_cli_an_unreachable_scheduler_exits_with_code_2(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run_cli("search", *CLI, "-p", LR, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1",
                   "--out", tmp_path / "s") == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def _cli_process(tmp_path, *args):
    code = "import sys; from corenn.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, "search", *map(str, args)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _rows(path):
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=10) as conn:
        try:
            return conn.execute("SELECT stage, idx, finished FROM trials ORDER BY stage, idx").fetchall()
        except sqlite3.OperationalError:  # not made yet
            return []


def _wait_for_rows(process, path, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(path)
        if len(rows) >= n:
            return rows
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"fewer than {n} trials after {timeout} s")


def _stop_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


@pytest.mark.parametrize(("how", "workers"), [("kill -9", "0"), ("Ctrl-C", "1")])
def test_cli_a_killed_or_interrupted_search_continues_where_it_stopped(tmp_path, how, workers):
    out = tmp_path / "s"
    args = [*CLI, "--epochs", "2", "-p", LR, "--trials", "16", "--workers", workers, "--out", out]
    process = _cli_process(tmp_path, *args)
    try:
        _wait_for_rows(process, out / cs.STORAGE_FILE, 2)
        if how == "kill -9":
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        else:
            os.killpg(process.pid, signal.SIGINT)  # what a terminal sends to the whole group
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == 130, stderr
            assert "interrupted: every finished trial is stored in" in stdout and "Traceback" not in stderr
    finally:
        _stop_group(process)
    before = _rows(out / cs.STORAGE_FILE)
    assert 2 <= len(before) < 16
    shown = cs.show(out)
    assert len(shown.trials) == len(before) and not shown.finished and "unfinished" in shown.progress_text()
    assert run_cli("search", *args) == 0
    after = _rows(out / cs.STORAGE_FILE)
    assert len(after) == 16 and set(before) <= set(after)  # the same rows, same finish times: not rerun
