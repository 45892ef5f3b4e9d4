"""The demo's terminal: task logs go to files, the terminal gets one line per task.

`quiet_to(file)` points the process's stdout and stderr (the file descriptors, so Airflow's,
tqdm's and every library's output follow) at a log file for the length of a block. `TaskLines`
keeps a copy of the terminal and, registered as an Airflow listener, writes one line there each
time a task instance finishes (dag.test() runs tasks in this process, so the listener sees them).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pluggy import HookimplMarker

hookimpl = HookimplMarker("airflow")


@contextlib.contextmanager
def quiet_to(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class TaskLines:
    """One line per finished task instance, written to the terminal whatever fd 1 points at."""

    def __init__(self, stream: TextIO) -> None:
        stream.flush()
        self.fd = os.dup(stream.fileno())
        self.started: dict[tuple[str, str, int], float] = {}

    def say(self, text: str) -> None:
        os.write(self.fd, (text + "\n").encode())

    def begin(self, label: str) -> None:
        self.say(f"demo: {label}")

    def end(self, text: str) -> None:
        self.say(f"demo:   -> {text}")

    def install(self) -> None:
        from airflow.sdk.listener import get_listener_manager

        get_listener_manager().add_listener(self)

    @staticmethod
    def _key(ti: Any) -> tuple[str, str, int]:
        return (ti.dag_id, ti.task_id, getattr(ti, "map_index", -1))

    def _line(self, ti: Any, mark: str, extra: str = "") -> None:
        t0 = self.started.pop(self._key(ti), None)
        took = f"{time.monotonic() - t0:6.1f} s" if t0 else "        "
        name = ti.task_id + (f"[{ti.map_index}]" if getattr(ti, "map_index", -1) not in (-1, None) else "")
        self.say(f"  {mark} {name:34s} {took}{extra}")

    @hookimpl
    def on_task_instance_running(self, previous_state: Any, task_instance: Any) -> None:
        self.started[self._key(task_instance)] = time.monotonic()

    @hookimpl
    def on_task_instance_success(self, previous_state: Any, task_instance: Any) -> None:
        self._line(task_instance, "ok")

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        kind = type(error).__name__ if isinstance(error, BaseException) else "failed"
        self._line(task_instance, "!!", f"  {kind}")

    @hookimpl
    def on_task_instance_skipped(self, previous_state: Any, task_instance: Any) -> None:
        self._line(task_instance, "--", "  skipped")
