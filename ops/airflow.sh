#!/usr/bin/env bash
# Local Airflow 3.3 for MedKB: api-server, scheduler, dag-processor and triggerer as separate
# background processes, each its own process group with a PID file and a log in $AIRFLOW_HOME.
#
#   ops/airflow.sh up       migrate the metadata database (idempotent), start the four, wait for the UI
#   ops/airflow.sh down     stop each by its PID file (the whole process group: children too)
#   ops/airflow.sh status   one line per process, and whether the UI answers
#
# CeleryExecutor mode (MEDKB_AIRFLOW_EXECUTOR=celery, e.g. `MEDKB_AIRFLOW_EXECUTOR=celery make airflow`):
# the same four plus two `airflow celery worker` processes, `worker` on queue `default` (CPU work)
# and `worker-gpu` on queue `gpu` (training), each with its own --celery-hostname
# (default@HOST, gpu@HOST) and PID file; Redis is the broker (AIRFLOW__CELERY__BROKER_URL, the
# local Redis of `make services`), the result backend is the metadata database in Postgres.
# Every process gets the same AIRFLOW__API_AUTH__JWT_SECRET (kept 0600 in $AIRFLOW_HOME unless set)
# and AIRFLOW__CORE__EXECUTION_API_SERVER_URL, which Airflow 3 workers need to run tasks.
#
# Settings come from ops/env.sh (AIRFLOW_HOME inside .local, metadata in the local Postgres database
# $MEDKB_AIRFLOW_DB, examples off, connections as AIRFLOW_CONN_*). The UI login is user `admin`
# with MEDKB_AIRFLOW_ADMIN_PASSWORD (local default below); Postgres must be up (`make services`).
# Kept small for a 2-core machine: parallelism 2 (MEDKB_AIRFLOW_PARALLELISM), one api worker,
# one parsing process; about 0.7 GB (PSS) for everything when idle.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ops/env.sh
source "$ROOT/ops/env.sh"
export PATH="$ROOT/.venv/bin:$PATH"   # `airflow` and the children it spawns come from the venv

# Small on purpose: a 2-core machine. Each can be overridden from the environment (parallelism
# through MEDKB_AIRFLOW_PARALLELISM: LocalExecutor starts that many workers up front, ~140 MB each).
export AIRFLOW__CORE__PARALLELISM="${MEDKB_AIRFLOW_PARALLELISM:-2}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-2}"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$AIRFLOW__API__PORT/execution/}"
# A task's calls to the execution API wait this long for the (single) api-server worker: the 5 s
# default timed out five times in a row, and killed the task, with the load at 20 on 2 shared cores.
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-30}"
# Simple auth manager (Airflow 3's default): users come from this setting, passwords from a JSON
# file that the api-server fills with generated ones for users it lacks. We write ours first.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
export MEDKB_AIRFLOW_ADMIN_PASSWORD="${MEDKB_AIRFLOW_ADMIN_PASSWORD:-medkb-local-admin}"

RUN="$AIRFLOW_HOME/run"
BASE_PROCS=(api-server scheduler dag-processor triggerer)
WORKERS=(worker worker-gpu)
case "${MEDKB_AIRFLOW_EXECUTOR:-local}" in
  local|LocalExecutor) PROCS=("${BASE_PROCS[@]}") ;;
  celery|CeleryExecutor)
    PROCS=("${BASE_PROCS[@]}" "${WORKERS[@]}")
    export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
    export AIRFLOW__OPERATORS__DEFAULT_QUEUE="${AIRFLOW__OPERATORS__DEFAULT_QUEUE:-default}"
    export AIRFLOW__CELERY__RESULT_BACKEND="${AIRFLOW__CELERY__RESULT_BACKEND:-db+postgresql://$MEDKB_PG_USER:$MEDKB_PG_PASSWORD@127.0.0.1:$MEDKB_PG_PORT/$MEDKB_AIRFLOW_DB}"
    export AIRFLOW__CELERY__WORKER_CONCURRENCY="${MEDKB_AIRFLOW_CPU_CONCURRENCY:-2}"
    ;;
  *) printf 'ERROR [airflow]: MEDKB_AIRFLOW_EXECUTOR=%s is not a mode; use local or celery\n' "$MEDKB_AIRFLOW_EXECUTOR" >&2; exit 1 ;;
esac
ALL_PROCS=("${BASE_PROCS[@]}" "${WORKERS[@]}")   # down and status look at every PID file there is
LOGS="$AIRFLOW_HOME/logs/processes"
URL="http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT"

say() { printf '%s\n' "$*"; }
fail() { printf 'ERROR [airflow]: %s\n' "$1" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_of() { [[ -f "$RUN/$1.pid" ]] && cat "$RUN/$1.pid"; }
alive() { local p; p=$(pid_of "$1") && kill -0 "$p" 2>/dev/null; }
tail_log() { say "---- last lines of $1 ----" >&2; tail -n 25 "$1" >&2 2>/dev/null || true; }
ui_answers() { curl -fsS -m 5 -o /dev/null "$URL/api/v2/monitor/health" 2>/dev/null; }

shared_jwt_secret() {
  # One signing secret for every component: the scheduler signs each task's token, the workers send
  # it to the execution API, the api-server checks it. Generated once per AIRFLOW_HOME, kept 0600.
  [[ -n "${AIRFLOW__API_AUTH__JWT_SECRET:-}" ]] && return 0
  local f="$AIRFLOW_HOME/jwt_secret"
  if [[ ! -s "$f" ]]; then
    (umask 077; python -c 'import secrets; print(secrets.token_urlsafe(32))' >"$f") || fail "could not write $f"
  fi
  AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$f")"; export AIRFLOW__API_AUTH__JWT_SECRET
}

broker_answers() {
  # host and port from the broker URL (redis://[:password@]host:port/db)
  local hp; hp="${AIRFLOW__CELERY__BROKER_URL#*://}"; hp="${hp##*@}"; hp="${hp%%/*}"
  (exec 3<>"/dev/tcp/${hp%%:*}/${hp##*:}") 2>/dev/null
}

worker_queue() { case "$1" in worker) echo default ;; worker-gpu) echo gpu ;; esac; }

proc_args() {
  # `env NAME=VALUE ... airflow <sub-command>` for one of PROCS. A worker's task instances record
  # its --celery-hostname (QUEUE@HOST, through medkb.hostname), so each can be told apart.
  local q
  case "$1" in
    scheduler|triggerer) echo "airflow $1 --skip-serve-logs" ;;
    worker|worker-gpu)
      q=$(worker_queue "$1")
      local c="$AIRFLOW__CELERY__WORKER_CONCURRENCY"; [[ "$q" == gpu ]] && c="${MEDKB_AIRFLOW_GPU_CONCURRENCY:-1}"
      echo "env MEDKB_WORKER_HOSTNAME=$q@$(hostname -s) AIRFLOW__CORE__HOSTNAME_CALLABLE=medkb.hostname.worker_hostname" \
           "airflow celery worker --queues $q --concurrency $c --celery-hostname $q@$(hostname -s)" \
           "--pid $RUN/celery-$q.pid --skip-serve-logs" ;;
    *) echo "airflow $1" ;;
  esac
}

write_admin_password() {
  # Our admin password goes into the file the auth manager reads; users it lacks still get
  # generated passwords (printed in the api-server log). Kept 0600: it holds a password.
  python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY' || fail "could not write the passwords file"
import json, os, sys
path = sys.argv[1]
try:
    with open(path) as fh:
        passwords = json.loads(fh.read() or "{}")
except FileNotFoundError:
    passwords = {}
passwords["admin"] = os.environ["MEDKB_AIRFLOW_ADMIN_PASSWORD"]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as fh:
    fh.write(json.dumps(passwords) + "\n")
PY
}

up() {
  local t0; t0=$(now)
  command -v airflow >/dev/null || fail "the airflow command is missing: run 'make install'"
  mkdir -p "$RUN" "$LOGS"
  local running=0 p
  for p in "${PROCS[@]}"; do alive "$p" && running=$((running + 1)); done
  if ((running == ${#PROCS[@]})) && ui_answers; then
    say "airflow: already running (UI $URL)"; login_help; return 0
  fi
  if ! alive api-server && port_open "$AIRFLOW__API__PORT"; then
    fail "port $AIRFLOW__API__PORT is taken by another process; stop it or set AIRFLOW__API__PORT"
  fi
  local pg_port="${MEDKB_PG_PORT:-5432}"
  port_open "$pg_port" || fail "Postgres is not answering on 127.0.0.1:$pg_port (the metadata database $MEDKB_AIRFLOW_DB): run 'make services'"
  if [[ "$AIRFLOW__CORE__EXECUTOR" == CeleryExecutor ]] && ! broker_answers; then
    fail "the Celery broker is not answering at ${AIRFLOW__CELERY__BROKER_URL##*@} (Redis): run 'make services' or set AIRFLOW__CELERY__BROKER_URL"
  fi
  shared_jwt_secret
  say "airflow: migrating the metadata database $MEDKB_AIRFLOW_DB (AIRFLOW_HOME=$AIRFLOW_HOME)"
  if ! airflow db migrate >"$LOGS/db-migrate.log" 2>&1; then
    tail_log "$LOGS/db-migrate.log"
    fail "airflow db migrate failed (see $LOGS/db-migrate.log); is the database $MEDKB_AIRFLOW_DB there? 'make services' creates it"
  fi
  write_admin_password
  # dags/medkb_model_refine.py trains in pool `gpu`; a task in a pool that does not exist is never
  # scheduled (the scheduler only warns), so the pool is made here, one slot per GPU.
  if ! airflow pools set gpu "${MEDKB_AIRFLOW_GPU_SLOTS:-1}" "training on the gpu queue" >>"$LOGS/db-migrate.log" 2>&1; then
    tail_log "$LOGS/db-migrate.log"; fail "could not create the Airflow pool gpu (see $LOGS/db-migrate.log)"
  fi
  for p in "${PROCS[@]}"; do
    if alive "$p"; then say "airflow: $p already running (pid $(pid_of "$p"))"; continue; fi
    # setsid: each process leads its own group, so `down` can stop it with all its children.
    # --skip-serve-logs: every process shares this machine's AIRFLOW_HOME, so the api-server reads
    # task logs from disk; the two log-serving children would only cost ~140 MB each.
    # The workers write their own PID files too (--pid): two on one AIRFLOW_HOME must not share one.
    local args; read -r -a args <<<"$(proc_args "$p")"
    setsid "${args[@]}" </dev/null >"$LOGS/$p.log" 2>&1 &
    echo $! >"$RUN/$p.pid"
  done
  local i
  for i in $(seq 1 $((2 * ${MEDKB_AIRFLOW_START_S:-240}))); do
    for p in "${PROCS[@]}"; do
      alive "$p" || { tail_log "$LOGS/$p.log"; down >/dev/null; fail "$p exited during start-up (log: $LOGS/$p.log); the others were stopped"; }
    done
    if ui_answers && workers_ready; then
      say "airflow: ${PROCS[*]} running ($AIRFLOW__CORE__EXECUTOR); UI ready on $URL in $(elapsed "$t0") s"
      login_help; return 0
    fi
    sleep 0.5
  done
  tail_log "$LOGS/api-server.log"; down >/dev/null
  fail "the UI or a worker was not ready on $URL after ${MEDKB_AIRFLOW_START_S:-240} s (logs: $LOGS/); all were stopped"
}

workers_ready() {
  # a Celery worker is ready once it logs "ready" (connected to the broker, consuming its queue)
  local p
  for p in "${PROCS[@]}"; do
    [[ "$p" == worker* ]] || continue
    grep -q " ready\." "$LOGS/$p.log" 2>/dev/null || return 1
  done
}

login_help() {
  say "  UI:     $URL   (user admin, password \$MEDKB_AIRFLOW_ADMIN_PASSWORD; local default medkb-local-admin)"
  say "  token:  curl -s -X POST $URL/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"…\"}'"
  say "  logs:   $LOGS/   stop: make airflow-down"
}

down() {
  local p pid any=0
  for p in "${ALL_PROCS[@]}"; do
    if alive "$p"; then
      pid=$(pid_of "$p"); any=1
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    fi
  done
  for p in "${ALL_PROCS[@]}"; do
    pid=$(pid_of "$p") || continue
    # wait for the whole group (the leader and every child it started), then finish off stragglers
    for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -KILL -- "-$pid" 2>/dev/null; then   # stragglers: gone once the kernel has reaped them
      for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$RUN/$p.pid"
  done
  rm -f "$RUN"/celery-*.pid   # the workers' own PID files (gone with them, unless they were killed)
  if ((any)); then say "airflow: stopped"; else say "airflow: not running"; fi
}

status() {
  local p rc=0
  for p in "${ALL_PROCS[@]}"; do
    if alive "$p"; then say "airflow $p: running (pid $(pid_of "$p"), log $LOGS/$p.log)"
    elif [[ " ${PROCS[*]} " == *" $p "* ]]; then say "airflow $p: down"; rc=1; fi
  done
  if ui_answers; then say "airflow UI: answering on $URL"; else say "airflow UI: not answering on $URL"; rc=1; fi
  return $rc
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  -h|--help|help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) fail "unknown action '${1}' (use up, down or status)" ;;
esac
