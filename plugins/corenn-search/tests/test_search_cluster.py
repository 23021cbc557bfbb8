"""corenn search on a real Dask cluster: a LocalCluster of two worker processes on 127.0.0.1.

The cluster computes exactly what the local pool computes for the same seeds, receives the dataset
once, and loses no finished trial when a worker is killed in the middle of a search.
"""

import os
import signal
import sqlite3

import pytest
from distributed import Client, LocalCluster

import corenn_search as cs

CONFIG = {"dataset": "digits", "hidden": [16], "epochs": 1, "regularizer": "l2"}
PARAMS = ["optimizer.lr=log:1e-4..1e-1", "regularizer.strength=log:1e-6..1e-1"]
TRIALS, STAGES = 4, 2


def numbers(result):
    return {(t.stage, t.index): (t.params, t.status, t.val_acc, t.val_loss, t.train_acc) for t in result.trials}


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The reference: the same two-stage search in a local pool of two processes."""
    return cs.search(CONFIG, PARAMS, trials=TRIALS, stages=STAGES, workers=2,
                     out=tmp_path_factory.mktemp("local"), figure=False)


def test_the_cluster_computes_what_the_local_pool_computes_and_gets_the_data_once(cluster, local, tmp_path,
                                                                                 monkeypatch):
    scatters = []
    scatter = Client.scatter

    def counting_scatter(self, data, *args, **kwargs):
        scatters.append(kwargs.get("broadcast"))
        return scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(Client, "scatter", counting_scatter)
    remote = cs.search(CONFIG, PARAMS, trials=TRIALS, stages=STAGES, scheduler=cluster.scheduler_address,
                       out=tmp_path, figure=True)
    assert scatters == [True]  # one broadcast of the dataset for all 8 trials
    assert len(remote.trials) == TRIALS * STAGES and all(t.ok for t in remote.trials)
    assert numbers(remote) == numbers(local)  # the same params, the same numbers, bit for bit
    assert remote.stages == local.stages
    with Client(cluster.scheduler_address) as client:
        pids = set(client.run(os.getpid).values())
    assert {int(t.worker.rsplit(":", 1)[1]) for t in remote.trials} <= pids
    assert remote.figure.is_file() and remote.best_config.is_file()


def test_a_worker_killed_mid_search_loses_no_finished_trial(cluster, local, tmp_path):
    with Client(cluster.scheduler_address) as client:
        first, second = sorted(client.run(os.getpid).values())
        stored_before_kill = []

        def kill_a_worker(trial):
            if not stored_before_kill:
                with sqlite3.connect(tmp_path / cs.STORAGE_FILE) as conn:
                    stored_before_kill.extend(conn.execute("SELECT stage, idx, finished FROM trials").fetchall())
                os.kill(first, signal.SIGKILL)

        result = cs.search(CONFIG, PARAMS, trials=TRIALS, stages=STAGES, scheduler=client, out=tmp_path,
                           figure=False, on_trial=kill_a_worker)
        # the worker died; the nanny started a new one; the client is still the caller's
        assert first not in set(client.run(os.getpid).values()) and client.status == "running"
    assert len(stored_before_kill) == 1
    with sqlite3.connect(tmp_path / cs.STORAGE_FILE) as conn:
        rows = conn.execute("SELECT stage, idx, finished FROM trials").fetchall()
    assert set(stored_before_kill) <= set(rows) and len(rows) == TRIALS * STAGES
    assert numbers(result) == numbers(local)  # every trial finished, with the numbers it always has


def test_trials_the_cluster_drops_are_resubmitted_and_a_lost_dataset_is_sent_again(cluster, local, tmp_path,
                                                                                  monkeypatch):
    from distributed import Future

    scatters = []
    scatter = Client.scatter
    monkeypatch.setattr(Client, "scatter", lambda self, *a, **k: scatters.append(1) or scatter(self, *a, **k))
    with Client(cluster.scheduler_address) as client:
        dropped = []

        def drop_the_dataset(trial):
            if not dropped:  # cancelling the scattered dataset cancels every trial that needs it
                dropped.extend(k for k in client.futures if not str(k).startswith("corenn-trial-"))
                client.cancel([Future(k, client) for k in dropped])

        result = cs.search(CONFIG, PARAMS, trials=TRIALS, stages=STAGES, scheduler=client, out=tmp_path,
                           figure=False, on_trial=drop_the_dataset)
    assert len(dropped) == 1 and len(scatters) == 2  # the dataset, once more after it was lost
    assert numbers(result) == numbers(local)
