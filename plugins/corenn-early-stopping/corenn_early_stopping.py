"""Early stopping for corenn's Trainer."""

import numpy as np

import corenn
from corenn import validators as v


@corenn.component
class EarlyStopping:
    """Stop when validation accuracy has not improved for `patience` epochs; keep the best weights.

    After each epoch, with ``best`` the highest ``val_acc`` so far: an epoch whose
    ``val_acc > best + min_delta`` resets the count; otherwise it counts, and at
    ``patience`` the run stops (``trainer.stop_training = True``). With
    ``restore_best`` the model's parameters go back to those of the best epoch
    when training ends (batch-norm running statistics included). Runs without validation data are left alone.
    All of this is in the trainer's checkpoints, so a resumed run stops where the uninterrupted one does.
    """

    name = "early_stopping"
    patience: int = corenn.hyperparameter(5, doc="epochs without improvement before stopping", check=v.integer(1))
    min_delta: float = corenn.hyperparameter(0.0, doc="smallest rise in val_acc that counts as improvement",
                                             check=v.non_negative)
    restore_best: bool = corenn.hyperparameter(True, doc="restore the best epoch's weights at the end",
                                               check=v.one_of(True, False))

    def on_train_begin(self, trainer) -> None:
        self.best, self.best_epoch, self.waited = -np.inf, None, 0
        self._model_state = trainer.model.state_dict() if self.restore_best else {}
        self._best = {k: np.empty_like(a) for k, a in self._model_state.items()}
        self.stopped_epoch = None

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        acc = logs.get("val_acc")
        if acc is None:
            return
        if acc > self.best + self.min_delta:
            self.best, self.best_epoch, self.waited = acc, epoch, 0
            for k, a in self._model_state.items():
                np.copyto(self._best[k], a)
            return
        self.waited += 1
        if self.waited >= self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self, trainer, history) -> None:
        if self.restore_best and self.best_epoch is not None:
            for k, a in self._model_state.items():
                np.copyto(a, self._best[k])
        if self.stopped_epoch is not None:
            history.stopped = f"early stopping at epoch {self.stopped_epoch} (best val_acc {self.best:.4f} at epoch {self.best_epoch})"

    def state_dict(self) -> dict:
        """What a checkpoint keeps: best score and epoch, the patience count, whether it stopped, best weights."""
        best = None if self.best == -np.inf else float(self.best)
        weights = {k: a.copy() for k, a in self._best.items()} if self.best_epoch is not None else {}
        return {"best": best, "best_epoch": self.best_epoch, "waited": self.waited,
                "stopped_epoch": self.stopped_epoch, "best_weights": weights}

    def load_state_dict(self, state) -> None:
        """Continue from :meth:`state_dict`'s state (called after ``on_train_begin``)."""
        weights = state.get("best_weights") or {}
        if state.get("best_epoch") is not None and set(weights) != set(self._best):
            raise corenn.InvalidFile(f"early_stopping: the checkpoint's best weights {sorted(weights)} do not match "
                                     f"this model's {sorted(self._best)}; resume with the run's own config")
        for k, a in weights.items():
            if np.shape(a) != self._best[k].shape:
                raise corenn.InvalidFile(f"early_stopping: the checkpoint's best {k} has shape {np.shape(a)}, "
                                         f"this model's {self._best[k].shape}")
            np.copyto(self._best[k], a)
        self.best = -np.inf if state.get("best") is None else float(state["best"])
        self.best_epoch, self.waited = state.get("best_epoch"), int(state.get("waited", 0))
        self.stopped_epoch = state.get("stopped_epoch")

    def report(self) -> str:
        if self.stopped_epoch is None:
            return ""
        return (f"early stopping: no val_acc gain for {self.patience} epochs; stopped after epoch {self.stopped_epoch}, "
                f"best {self.best:.4f} at epoch {self.best_epoch}" + (" (weights restored)" if self.restore_best else ""))


@corenn.hookimpl
def corenn_callbacks():
    return [EarlyStopping]
