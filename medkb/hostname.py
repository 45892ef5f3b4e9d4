"""The host name a task instance records, for Airflow's `[core] hostname_callable`.

Two Celery workers on one machine (ops/airflow.sh's `worker` on queue default and `worker-gpu` on
queue gpu) would both record the machine's name, so nobody could tell from a task instance which
worker ran it. Each worker sets MEDKB_WORKER_HOSTNAME to its `--celery-hostname` (default@HOST,
gpu@HOST); everything else keeps the fully qualified domain name, Airflow's default.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    """MEDKB_WORKER_HOSTNAME when set (a named worker), else the machine's FQDN."""
    return os.environ.get("MEDKB_WORKER_HOSTNAME") or socket.getfqdn()
