"""Cards that need no snooze verdict, written after the answer in batches by one writer thread (issue 17).

Urgent tiers and order cards are never held back, so nothing in the answer waits for their record. Writing
each one through a database thread cost a thread hop and a transaction per card; here the request only
appends to a list, and one daemon thread writes what gathered in 20 ms (or 256 cards) as one executemany
in one transaction. The snoozable tiers are not batched: their verdict is part of the answer, and a snooze
given through any replica must hold on all, so those rows are written before the answer (``CardLog.issue``).

Bounds: at most ``bound`` cards wait; past that a card is dropped, counted in
``backpain_cds_card_record_failures_total`` and logged once per episode (until the queue drains). A batch
that fails is logged and counted card by card, and the writer carries on. The thread leaves after
``idle_exit`` seconds without cards and starts again with the next one. ``flush`` waits, bounded, until
every card submitted before it is written or counted as failed (shutdown, and the card log's reads).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import structlog

from service.metrics import card_record_failed

log = structlog.get_logger("service.cards")

Item = TypeVar("Item")

MAX_WAIT = 0.02  # seconds a first card waits for others to share its transaction
MAX_BATCH = 256  # cards per executemany
BOUND = 10_000  # cards waiting, past which new ones are dropped (a database down for a long while)
IDLE_EXIT = 5.0  # seconds without cards before the writer thread leaves


class BatchWriter(Generic[Item]):
    """Writes submitted items through ``write`` (one call per batch) on a writer thread of its own."""

    def __init__(
        self,
        write: Callable[[list[Item]], None],
        *,
        describe: Callable[[Item], str] = lambda _: "",
        max_wait: float | None = None,
        max_batch: int | None = None,
        bound: int | None = None,
        idle_exit: float | None = None,
    ) -> None:
        self._write = write
        self._describe = describe
        self._max_wait = MAX_WAIT if max_wait is None else max_wait
        self._max_batch = MAX_BATCH if max_batch is None else max_batch
        self._bound = BOUND if bound is None else bound
        self._idle_exit = IDLE_EXIT if idle_exit is None else idle_exit
        self._pending: deque[Item] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._submitted = 0  # sequence number of the last item accepted
        self._finished = 0  # items written or counted as failed, in submission order
        self._flushes = 0  # flushes waiting: the writer then does not wait for a fuller batch
        self._dropping = False

    @property
    def waiting(self) -> int:
        """Items accepted and not yet written (tests, shutdown log)."""
        with self._cond:
            return self._submitted - self._finished

    @property
    def running(self) -> bool:
        with self._cond:
            return self._thread is not None

    def submit(self, items: Iterable[Item]) -> None:
        """Queue ``items`` for the writer; never blocks on the database. Past the bound an item is dropped."""
        dropped: list[Item] = []
        with self._cond:
            was_empty = not self._pending
            for item in items:
                if self._submitted - self._finished >= self._bound:
                    dropped.append(item)
                    continue
                self._pending.append(item)
                self._submitted += 1
            if self._thread is None and self._pending:
                self._thread = threading.Thread(target=self._run, name="card-writer", daemon=True)
                self._thread.start()
            elif (was_empty and self._pending) or len(self._pending) >= self._max_batch:
                self._cond.notify_all()  # the writer waits idle for a first card, or for a full batch
            first_drop = bool(dropped) and not self._dropping
            self._dropping = self._dropping or bool(dropped)
        for _ in dropped:
            card_record_failed()
        if first_drop:
            log.error("cards.record_dropped", reason="queue full", bound=self._bound)

    def flush(self, timeout: float) -> bool:
        """Wait until every item submitted so far is written (or counted failed); False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            if self._finished >= target:
                return True
            self._flushes += 1
            self._cond.notify_all()
            try:
                while self._finished < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flushes -= 1

    def _next_batch(self) -> list[Item] | None:
        """The next batch, or None when the thread should leave (idle); called holding the lock."""
        idle_until = time.monotonic() + self._idle_exit
        while not self._pending:
            remaining = idle_until - time.monotonic()
            if remaining <= 0:
                self._thread = None
                return None
            self._cond.wait(remaining)
        full_at = time.monotonic() + self._max_wait
        while len(self._pending) < self._max_batch and not self._flushes:
            remaining = full_at - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
        count = min(len(self._pending), self._max_batch)
        return [self._pending.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
            if batch is None:
                return
            try:
                self._write(batch)
            except Exception as exc:  # any failure: count the cards, keep the writer alive
                for _ in batch:
                    card_record_failed()
                log.error(
                    "cards.record_failed",
                    error_type=type(exc).__name__,
                    cards=len(batch),
                    tiers=sorted({self._describe(item) for item in batch}),
                )
            with self._cond:
                self._finished += len(batch)
                if self._finished == self._submitted:
                    self._dropping = False  # drained: the next drop is a new episode, logged again
                self._cond.notify_all()

