"""When a fine-tuning run keeps an epoch's weights and when it stops: the NER and the relation
training share one rule (the best dev F1 so far, a patience in epochs, a time budget)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class EarlyStop:
    patience: int
    max_minutes: float | None
    started: float  # time.monotonic() when the budget's clock starts
    best_f1: float = -1.0
    best_epoch: int = 0
    bad: int = 0

    def improved(self, epoch: int, f1: float) -> bool:
        """True when this epoch is the best so far (the caller then saves its weights)."""
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch, self.bad = f1, epoch, 0
            return True
        self.bad += 1
        return False

    def should_stop(self, epoch: int) -> bool:
        if self.bad >= self.patience:
            log.info("early stop: no dev gain for %d epochs", self.bad)
            return True
        if self.max_minutes and time.monotonic() - self.started > self.max_minutes * 60:
            log.info("time budget of %s min reached after epoch %d", self.max_minutes, epoch)
            return True
        return False

    def interrupted(self) -> None:
        """On Ctrl-C: keep the best finished epoch, or re-raise when none has finished."""
        if not self.best_epoch:
            raise  # the KeyboardInterrupt being handled by the caller
        log.warning("interrupted: keeping the best finished epoch (%d)", self.best_epoch)
