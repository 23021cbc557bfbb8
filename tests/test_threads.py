"""The threads setting: how many BLAS threads training and evaluation use (corenn.threads)."""

import numpy as np
import pytest

import corenn
from corenn import threads
from corenn.run import InvalidConfig, RunConfig
from corenn.trainer import Callback


@pytest.mark.parametrize("value, expected", [("auto", "auto"), ("AUTO", "auto"), (1, 1), (3, 3), ("2", 2)])
def test_threads_is_auto_or_a_positive_count(value, expected):
    assert threads.check_threads(value) == expected


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "two", "", None, "0"])
def test_any_other_threads_value_is_an_invalid_hyperparameter(value):
    with pytest.raises(corenn.InvalidHyperparameter, match="threads"):
        threads.check_threads(value)


def test_the_work_of_a_step_is_the_batch_times_the_matrix_parameters():
    model = corenn.mlp([64, 100, 10], seed=0)
    assert threads.step_work(model, 32) == 32 * (64 * 100 + 100 * 10)


def test_auto_gives_one_thread_per_share_of_work_within_the_pool():
    share = threads.WORK_PER_THREAD
    assert threads.auto_count(share // 10, available=8) == 1
    assert threads.auto_count(2 * share - 1, available=8) == 1
    assert threads.auto_count(3 * share, available=8) == 3
    assert threads.auto_count(100 * share, available=2) == 2
    assert threads.auto_count(100 * share, available=1) == 1


def test_auto_picks_one_thread_for_a_small_model():
    assert threads.thread_count("auto", corenn.mlp([64, 128, 64, 10], seed=0), 64) == 1


def test_the_environment_variable_sets_what_auto_means(monkeypatch):
    model = corenn.mlp([4, 3], seed=0)
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.thread_count("auto", model, 8) == 3
    assert threads.thread_count(2, model, 8) == 2  # an explicit count wins
    monkeypatch.setenv(threads.ENV, "many")
    with pytest.raises(corenn.InvalidHyperparameter, match=threads.ENV):
        threads.thread_count("auto", model, 8)


class PoolSize(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, step, logs):
        self.seen.append(threads.pool_size())


def test_fit_holds_the_blas_pool_at_the_setting_and_restores_it_after():
    before = threads.pool_size()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 5)), rng.integers(0, 3, 40)
    probe = PoolSize()
    trainer = corenn.Trainer(corenn.mlp([5, 8, 3], seed=0), epochs=1, batch_size=20, callbacks=[probe], threads=1)
    trainer.fit(X, y)
    assert probe.seen == [1, 1]
    assert threads.pool_size() == before


def test_trainer_rejects_a_bad_threads_setting():
    with pytest.raises(corenn.InvalidHyperparameter, match="threads"):
        corenn.Trainer(corenn.mlp([5, 3], seed=0), threads=0)


def test_threads_comes_from_a_config_as_auto_or_a_count():
    assert RunConfig.from_mapping({}).threads == "auto"
    assert RunConfig.from_mapping({"threads": "2"}).threads == 2  # as --threads 2 gives it
    assert RunConfig.from_mapping({"threads": 1}).threads == 1
    with pytest.raises(InvalidConfig, match="threads"):
        RunConfig.from_mapping({"threads": "zero"})


def test_auto_leaves_the_cores_that_other_processes_run_on(monkeypatch):
    big = corenn.mlp([3072, 1024, 1024, 10], seed=0)  # over a billion multiply-adds per step at batch 256
    monkeypatch.setattr(threads, "pool_size", lambda: 4)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads, "others_running", lambda: 0)
    assert threads.thread_count("auto", big, 256) == 4
    monkeypatch.setattr(threads, "others_running", lambda: 3)
    assert threads.thread_count("auto", big, 256) == 1
    monkeypatch.setattr(threads, "others_running", lambda: 9)  # a crowded machine: still one thread
    assert threads.thread_count("auto", big, 256) == 1
    monkeypatch.setattr(threads, "others_running", lambda: None)  # no /proc/loadavg: the work decides
    assert threads.thread_count("auto", big, 256) == 4


def test_other_running_tasks_are_read_from_the_load_average():
    others = threads.others_running(samples=2, interval=0.001)
    assert others is None or others >= 0


def test_this_processs_own_running_threads_are_not_counted_as_other_processes(monkeypatch):
    monkeypatch.setattr(threads, "_all_running", lambda: 5)
    monkeypatch.setattr(threads, "_own_running", lambda: 3)  # e.g. BLAS workers still spinning after a product
    assert threads.others_running(samples=3, interval=0) == 2
    monkeypatch.setattr(threads, "_all_running", lambda: None)
    assert threads.others_running(samples=3, interval=0) is None


def test_this_process_counts_at_least_the_thread_that_reads():
    assert threads._own_running() >= 1


@pytest.mark.parametrize("code, env, expected", [
    ("import corenn, numpy", {}, "4"),  # corenn first: OpenBLAS's idle workers sleep at once
    ("import numpy, corenn", {}, "unset"),  # too late: OpenBLAS has read its settings
    ("import corenn, numpy", {"OPENBLAS_THREAD_TIMEOUT": "20"}, "20"),  # the user's own value stays
])
def test_corenn_imported_before_numpy_has_openblas_idle_workers_sleep(code, env, expected):
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | env
    out = subprocess.run([sys.executable, "-c", f"{code}; import os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT', "
                          "'unset'))"], env=environment, capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected
