"""Nothing is lost under faults: kills, Ctrl-C (once or twice), divergence, two trainers in one folder."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import corenn
from corenn import run as runs
from corenn.trainer import Callback, InterruptedMidStep, TrainingDiverged
from corenn_early_stopping import EarlyStopping


@pytest.fixture(scope="module")
def spiral():
    return corenn.create("dataset", "spiral").load(seed=0)


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs, no except-branch writes anything."""


class KillAtEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, trainer, epoch):
        if epoch == self.epoch:
            raise Killed


def early_stopping_run(data, checkpoint=None, extra=()):
    model = corenn.mlp([2, 16, 3], seed=0)
    trainer = corenn.Trainer(model, optimizer="adam:lr=0.05", batch_size=32, epochs=40, checkpoint=checkpoint,
                             callbacks=[EarlyStopping(patience=2), *extra])
    return model, trainer


def weights(model):
    return [p.copy() for p in model.parameters()]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_early_stopping_state_is_in_the_checkpoint_so_a_killed_run_resumes_to_the_same_end(spiral, tmp_path):
    validation = (spiral.X_val, spiral.y_val)
    model, trainer = early_stopping_run(spiral)
    expected = trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
    expected_weights, expected_epochs = weights(model), trainer.epoch
    assert expected.stopped and expected_epochs < 40  # it did stop early

    for kill_at in (expected_epochs - 2, expected_epochs - 1):  # after an improvement, then while waiting
        ck = tmp_path / f"ck{kill_at}.npz"
        model, trainer = early_stopping_run(spiral, ck, [KillAtEpoch(kill_at)])
        with pytest.raises(Killed):
            trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
        model, trainer = early_stopping_run(spiral)
        trainer.load_checkpoint(ck)
        history = trainer.fit(spiral.X_train, spiral.y_train, validation=validation)
        assert trainer.epoch == expected_epochs
        assert history.stopped == expected.stopped
        assert history.loss == expected.loss
        assert_same_weights(weights(model), expected_weights)


def test_a_resumed_trainer_whose_checkpoint_had_stopped_trains_no_further(spiral, tmp_path):
    ck = tmp_path / "ck.npz"
    model, trainer = early_stopping_run(spiral, ck)
    trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    final, epochs = weights(model), trainer.epoch
    model, trainer = early_stopping_run(spiral)
    trainer.load_checkpoint(ck)
    assert trainer.finished
    history = trainer.fit(spiral.X_train, spiral.y_train, validation=(spiral.X_val, spiral.y_val))
    assert trainer.epoch == epochs and "early stopping" in history.stopped
    assert_same_weights(weights(model), final)  # the best weights, restored again


def small_config(**kw):
    values = dict(dataset="spiral", hidden=[16], epochs=40, batch_size=32, optimizer="adam:lr=0.05",
                  callbacks=["early_stopping:patience=2"], default_callbacks=False, preprocess=[]) | kw
    return runs.RunConfig.from_mapping(values)


def test_resuming_a_finished_run_is_a_no_op_that_says_so(tmp_path):
    folder = tmp_path / "run"
    first = runs.train(small_config(), folder)
    assert not first.already_finished and first.trainer.epoch < 40
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.name != runs.LOCK_FILE}
    again = runs.train(small_config(), folder, resume=True)
    assert again.already_finished and again.trainer.epoch == first.trainer.epoch
    assert again.history.stopped == first.history.stopped and "early stopping" in again.history.stopped
    assert again.test == first.test
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir() if p.name != runs.LOCK_FILE}
    assert after == before


class DoubleCtrlCAfterAnUpdate(Callback):
    """Sends two SIGINTs right after the optimizer's update of one step, before the trainer finished the step."""

    def __init__(self, step):
        self.step = step

    def on_train_begin(self, trainer):
        optimizer_step = trainer.optimizer.step

        def step_then_interrupt(*args, **kw):
            optimizer_step(*args, **kw)
            if trainer.step == self.step:
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)

        trainer.optimizer.step = step_then_interrupt


def test_a_second_ctrl_c_mid_update_writes_no_checkpoint_and_resume_is_exact(spiral, tmp_path):
    def make(**kw):
        model = corenn.mlp([2, 16, 3], dropout=0.8, seed=0)
        return model, corenn.Trainer(model, optimizer="adam:lr=0.01", batch_size=32, epochs=3, seed=0, **kw)

    model, trainer = make()
    trainer.fit(spiral.X_train, spiral.y_train)
    expected, expected_loss = weights(model), trainer.history.loss

    ck = tmp_path / "ck.npz"
    steps_per_epoch = int(np.ceil(len(spiral.X_train) / 32))
    model, trainer = make(checkpoint=ck, callbacks=[DoubleCtrlCAfterAnUpdate(steps_per_epoch + 3)])
    with pytest.raises(InterruptedMidStep):
        trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.history.stopped == "interrupted"
    model, trainer = make()
    trainer.load_checkpoint(ck)
    assert (trainer.epoch, trainer.step) == (1, steps_per_epoch)  # the last consistent point: the end of epoch 1
    trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.history.loss == expected_loss
    assert_same_weights(weights(model), expected)


def test_one_ctrl_c_during_a_full_batch_step_ends_an_lbfgs_run(spiral, tmp_path):
    class CtrlCInEpoch(Callback):
        def on_epoch_begin(self, trainer, epoch):
            if epoch == 2:
                signal.raise_signal(signal.SIGINT)

    model = corenn.mlp([2, 16, 3], seed=0)
    trainer = corenn.Trainer(model, optimizer="lbfgs:max_iter=5", epochs=300, checkpoint=tmp_path / "ck.npz",
                             callbacks=[CtrlCInEpoch()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.epoch == 2 and trainer.history.stopped == "interrupted"
    resumed = corenn.Trainer(corenn.mlp([2, 16, 3], seed=0), optimizer="lbfgs:max_iter=5", epochs=300)
    resumed.load_checkpoint(tmp_path / "ck.npz")
    assert resumed.epoch == 2


def test_ctrl_c_after_the_last_batch_of_the_last_epoch_is_not_swallowed(spiral, tmp_path):
    class CtrlCAtTheEnd(Callback):
        def on_epoch_end(self, trainer, epoch, logs):  # e.g. during the last evaluation
            if epoch == trainer.epochs - 1:
                signal.raise_signal(signal.SIGINT)

    model = corenn.mlp([2, 16, 3], seed=0)
    trainer = corenn.Trainer(model, epochs=2, checkpoint=tmp_path / "ck.npz", callbacks=[CtrlCAtTheEnd()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(spiral.X_train, spiral.y_train)
    resumed = corenn.Trainer(corenn.mlp([2, 16, 3], seed=0), epochs=2)
    resumed.load_checkpoint(tmp_path / "ck.npz")
    assert resumed.finished  # the checkpoint holds the finished run


def test_a_run_killed_before_its_first_checkpoint_restarts_on_resume(tmp_path):
    folder = tmp_path / "run"
    with pytest.raises(Killed):
        runs.train(small_config(epochs=3, callbacks=[]), folder, callbacks=[KillAtEpoch(0)])
    assert (folder / runs.CONFIG_FILE).is_file() and not (folder / runs.CHECKPOINT_FILE).exists()
    with pytest.raises(runs.InvalidConfig, match="resume it"):
        runs.train(small_config(epochs=3, callbacks=[]), folder)
    resumed = runs.train(small_config(epochs=3, callbacks=[]), folder, resume=True)
    fresh = runs.train(small_config(epochs=3, callbacks=[]), tmp_path / "fresh")
    assert resumed.trainer.epoch == 3 and resumed.history.loss == fresh.history.loss


def test_the_divergence_message_says_whether_a_checkpoint_exists(spiral, tmp_path):
    model = corenn.mlp([2, 16, 3], seed=0)
    trainer = corenn.Trainer(model, optimizer="sgd:lr=1e4", epochs=5, checkpoint=tmp_path / "ck.npz")
    with pytest.raises(TrainingDiverged, match="no checkpoint was written yet") as info:
        trainer.fit(spiral.X_train * 1e6, spiral.y_train)
    assert "intact" not in str(info.value)


def test_a_run_folder_is_locked_while_a_process_trains_in_it(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(folder / runs.LOCK_FILE)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode())\n"
        "print('locked', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(runs.InvalidConfig, match=f"in use by process {holder.pid}"):
            runs.train(small_config(epochs=1), folder)
        assert list(folder.iterdir()) == [folder / runs.LOCK_FILE]  # nothing else written
    finally:
        holder.kill()
        holder.wait()
    result = runs.train(small_config(epochs=1), folder)  # the dead holder's lock is taken over
    assert result.trainer.epoch == 1


def test_taking_the_lock_removes_the_temporary_files_of_a_killed_writer(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    stale = folder / ".checkpoint.npz.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    runs.train(small_config(epochs=1), folder)
    assert not stale.exists()


# -- hostile and damaged files: refused quickly, before allocating what they declare ------------------

def refused_quickly(load, match):
    """``load()`` raises InvalidFile matching ``match`` within 1 s, having allocated under 100 MB."""
    import tracemalloc

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(corenn.InvalidFile, match=match):
            load()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1 and peak < 100 * 2**20, (seconds, peak)


def test_a_small_model_file_whose_config_declares_huge_layers_is_refused(tmp_path):
    good = corenn.mlp([4, 5, 3], seed=0).save(tmp_path / "good.npz")
    arrays, config = corenn.files.load_arrays(good)
    for entry in config["layers"]:
        if entry["spec"].get("name") == "dense":
            entry["spec"].update(in_features=15000, out_features=15000)
    corenn.files.save_arrays(tmp_path / "huge.npz", arrays, config)
    assert (tmp_path / "huge.npz").stat().st_size < 10_000
    refused_quickly(lambda: corenn.load_model(tmp_path / "huge.npz"), r"declares layers of about 4500000\d\d values but it stores \d+;")


def write_member(zf, name, shape, dtype, data=b""):
    """A member of an .npz whose .npy header declares ``shape`` of ``dtype``, followed by ``data``."""
    with zf.open(name, "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                 "shape": shape})
        f.write(data)


def test_an_array_that_declares_a_huge_shape_is_refused_before_it_is_allocated(tmp_path):
    import zipfile

    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as zf:
        write_member(zf, "__json__.npy", (2,), np.uint8, b"{}")
        write_member(zf, "0.dense.W.npy", (15000, 15000), np.float32, b"\0" * 16)
    refused_quickly(lambda: corenn.files.load_arrays(path), r"'0.dense.W' declares shape \(15000, 15000\)")


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    import zipfile

    path = tmp_path / "bomb.npz"
    chunk = b"\0" * 2**20
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        write_member(zf, "__json__.npy", (2,), np.uint8, b"{}")
        with zf.open("0.dense.W.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (32 * 2**20,)})
            for _ in range(128):
                f.write(chunk)
    assert path.stat().st_size < 2**20
    refused_quickly(lambda: corenn.files.load_arrays(path), "would inflate to")


def test_an_npy_file_that_declares_more_than_it_holds_is_refused(tmp_path):
    path = tmp_path / "inputs.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (1_000_000_000, 64)})
        f.write(b"\0" * 64)
    refused_quickly(lambda: corenn.files.load_npy(path), r"declares shape \(1000000000, 64\)")
    np.save(tmp_path / "fine.npy", np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(corenn.files.load_npy(tmp_path / "fine.npy"), np.arange(6.0).reshape(2, 3))


def interrupted_checkpoint(data, path):
    class InterruptAt(Callback):
        def on_batch_end(self, trainer, step, logs):
            if step == 9:
                raise KeyboardInterrupt

    trainer = corenn.Trainer(corenn.mlp([2, 16, 3], seed=0), batch_size=32, epochs=3, checkpoint=path,
                             callbacks=[InterruptAt()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(data.X_train, data.y_train)
    return corenn.files.load_arrays(path)


def tamper(arrays, doc, change):
    arrays, doc = dict(arrays), json_copy(doc)
    change(arrays, doc)
    return arrays, doc


def json_copy(doc):
    import json

    return json.loads(json.dumps(doc))


BAD_CHECKPOINTS = {
    "a shuffle order out of range": (lambda a, d: a.update({"position/perm": a["position/perm"] + 10**6}),
                                     "position in epoch"),
    "a shuffle order of the wrong length": (lambda a, d: a.update({"position/perm": a["position/perm"][:5]}),
                                            "position in epoch"),
    "a batch index past the epoch": (lambda a, d: d.update(batch=999), "position in epoch"),
    "a negative batch index": (lambda a, d: d.update(batch=-2), "batch is -2"),
    "a negative epoch": (lambda a, d: d.update(epoch=-1), "epoch is -1"),
    "a negative step": (lambda a, d: d.update(step=-5), "step is -5"),
    "a history of the wrong type": (lambda a, d: d.update(history="lots"), "history is a str"),
    "a history with a wrong list": (lambda a, d: d["history"].update(loss={"a": 1}), "'loss' is not a list"),
}


@pytest.mark.parametrize("case", BAD_CHECKPOINTS)
def test_a_damaged_checkpoint_is_an_invalid_file_error_and_changes_nothing(spiral, tmp_path, case):
    arrays, doc = interrupted_checkpoint(spiral, tmp_path / "ck.npz")
    change, match = BAD_CHECKPOINTS[case]
    corenn.files.save_arrays(tmp_path / "bad.npz", *tamper(arrays, doc, change))
    trainer = corenn.Trainer(corenn.mlp([2, 16, 3], seed=0), batch_size=32, epochs=3)
    with pytest.raises(corenn.InvalidFile, match=match):
        trainer.load_checkpoint(tmp_path / "bad.npz")
        trainer.fit(spiral.X_train, spiral.y_train)
    assert trainer.step <= 10


def test_a_model_too_big_for_this_machine_is_refused_before_it_is_built():
    with pytest.raises(runs.InvalidConfig, match="choose smaller hidden widths"):
        runs.build_model(small_config(hidden=[10_000_000_000]), 2, 3)


# -- smaller ones ---------------------------------------------------------------------------------

def test_a_key_given_at_the_top_level_and_in_a_section_is_refused():
    with pytest.raises(runs.InvalidConfig, match="'hidden' is given twice"):
        runs.RunConfig.from_mapping({"hidden": [8], "model": {"hidden": [16]}})


def test_default_callbacks_must_be_true_or_false():
    with pytest.raises(runs.InvalidConfig, match="default_callbacks"):
        runs.RunConfig.from_mapping({"default_callbacks": 1})


def test_an_empty_config_file_is_refused_not_read_as_all_defaults(tmp_path):
    (tmp_path / "config.toml").write_text("")
    with pytest.raises(runs.InvalidConfig, match="is empty"):
        runs.read_config(tmp_path / "config.toml")


def test_a_failed_write_names_the_file_and_leaves_no_temporary_file(tmp_path):
    import errno

    def full_disk(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as info:
        corenn.files.atomic_write(tmp_path / "model.npz", full_disk)
    assert info.value.filename == str(tmp_path / "model.npz") and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_predictions_from_non_finite_scores_come_with_a_warning(tmp_path):
    runs.train(small_config(epochs=1, callbacks=[]), tmp_path / "run")
    with pytest.warns(RuntimeWarning, match="1 of 2 inputs give NaN or infinite scores"):
        labels = runs.predict(tmp_path / "run", np.array([[0.1, 0.2], [3e38, 3e38]]))  # float32's largest
    assert labels.shape == (2,)


def test_ragged_input_is_an_invalid_input_error_not_a_numpy_one():
    with pytest.raises(corenn.InvalidInput, match="rows of different lengths"):
        corenn.mlp([2, 4, 3]).forward([[1.0, 2.0], [3.0]])
