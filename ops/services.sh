#!/usr/bin/env bash
# Local services for MedKB: PostgreSQL (Debian package), Neo4j 5.26 Community (Maven Central
# jars, launched as a plain Java process) and Redis (Debian package), all on 127.0.0.1.
#
#   ops/services.sh up     [postgres|neo4j|redis ...]   start (idempotent), wait until answering
#   ops/services.sh down   [postgres|neo4j|redis ...]   stop by PID
#   ops/services.sh status [postgres|neo4j|redis ...]   one line per service
#
# Settings come from the environment (see ops/env.sh for the documented local defaults);
# MEDKB_MAVEN_OPTS adds options to the Maven calls that fetch the Neo4j jars.
# MEDKB_ENV=test gives the test suite its own Neo4j instance (ports 7688/7475) and its own
# Postgres database, so `make test` never touches the graph that `make demo` built.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ops/env.sh
source "$ROOT/ops/env.sh"

LOCAL="$MEDKB_LOCAL_DIR"
NEO4J_DIST="$LOCAL/neo4j-dist"          # jars, shared by every instance, kept between runs
NEO4J_HOME="${MEDKB_NEO4J_HOME:-$LOCAL/$MEDKB_ENV/neo4j}"   # conf, data, logs, run of this instance
REDIS_DIR="$LOCAL/redis"
PG_VERSION="${MEDKB_PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)}"
PG_CLUSTER="${MEDKB_PG_CLUSTER:-medkb}"

say() { printf '%s\n' "$*"; }
fail() { printf 'ERROR [%s]: %s\n' "$1" "$2" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
# colour codes stripped and every line ended, so the ERROR line after it stands on its own
tail_log() { say "---- last lines of $1 ----" >&2; tail -n 30 "$1" 2>/dev/null | awk '{ gsub(/\033\[[0-9;]*m/, ""); print }' >&2 || true; }

# ---------------------------------------------------------------- PostgreSQL
pg_psql() { runuser -u postgres -- psql -p "$MEDKB_PG_PORT" -h /var/run/postgresql -v ON_ERROR_STOP=1 -qtA "$@"; }

postgres_up() {
  local t0; t0=$(now)
  [[ -n "$PG_VERSION" ]] || fail postgres "the PostgreSQL server is not installed: run 'make install-system' (apt-get install postgresql)"
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $PG_CLUSTER"; then
    say "postgres: creating cluster $PG_VERSION/$PG_CLUSTER on port $MEDKB_PG_PORT"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" -p "$MEDKB_PG_PORT" \
      -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null \
      || fail postgres "pg_createcluster failed"
    mkdir -p "/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d"
    printf "listen_addresses = '127.0.0.1'\n" >"/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/medkb.conf"
  fi
  local status; status=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}')
  if [[ "$status" == online ]]; then
    say "postgres: already running on 127.0.0.1:$MEDKB_PG_PORT"
  else
    if port_open "$MEDKB_PG_PORT"; then
      fail postgres "port $MEDKB_PG_PORT is taken by another process; stop it or set MEDKB_PG_PORT"
    fi
    if ! pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start 2>"$LOCAL/postgres-start.err"; then
      cat "$LOCAL/postgres-start.err" >&2
      tail_log "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
      fail postgres "the server did not start"
    fi
  fi
  for _ in $(seq 1 60); do pg_psql -c 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
  pg_psql -c 'select 1' >/dev/null 2>&1 || { tail_log "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"; fail postgres "the server does not answer"; }
  # Role and databases: the project's own, its test database and Airflow's metadata.
  pg_psql -v u="$MEDKB_PG_USER" -v p="$MEDKB_PG_PASSWORD" <<'SQL' >/dev/null || fail postgres "could not create the role"
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'u', :'p')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'u', :'p') \gexec
SQL
  local db
  for db in "$MEDKB_PG_DB" "$MEDKB_PG_TEST_DB" "$MEDKB_AIRFLOW_DB"; do
    pg_psql -v d="$db" -v u="$MEDKB_PG_USER" <<'SQL' >/dev/null || fail postgres "could not create database $db"
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d') \gexec
SQL
  done
  say "postgres: ready on 127.0.0.1:$MEDKB_PG_PORT (databases $MEDKB_PG_DB, $MEDKB_PG_TEST_DB, $MEDKB_AIRFLOW_DB) in $(elapsed "$t0") s"
}

postgres_down() {
  if pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c && $4=="online"' | grep -q .; then
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop && say "postgres: stopped"
  else
    say "postgres: not running"
  fi
}

postgres_status() {
  local s; s=$(pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}')
  say "postgres: ${s:-absent} (cluster $PG_VERSION/$PG_CLUSTER, 127.0.0.1:$MEDKB_PG_PORT)"
  [[ "$s" == online ]]
}

# ---------------------------------------------------------------- Neo4j
neo4j_fetch() {
  # Jars come from Maven Central once; later starts find them in $NEO4J_DIST (and ~/.m2).
  [[ -f "$NEO4J_DIST/.complete" ]] && return 0
  command -v mvn >/dev/null || fail neo4j "Maven (mvn) is not installed: apt-get install maven"
  command -v java >/dev/null || fail neo4j "Java 17 is not installed: apt-get install openjdk-17-jre-headless"
  say "neo4j: fetching Neo4j and APOC jars from Maven Central (first start only)"
  rm -rf "$NEO4J_DIST"; mkdir -p "$NEO4J_DIST/lib" "$NEO4J_DIST/plugins" "$NEO4J_DIST/apoc-all"
  local pom="$ROOT/ops/neo4j/pom.xml" log="$LOCAL/neo4j-fetch.log" mvn_opts=()
  # extra Maven options, e.g. a mirror's settings file (-s FILE) or -o to work offline
  read -r -a mvn_opts <<<"${MEDKB_MAVEN_OPTS:-}"
  if ! mvn -B -q "${mvn_opts[@]}" -f "$pom" -P server dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$NEO4J_DIST/lib" >"$log" 2>&1 \
     || ! mvn -B -q "${mvn_opts[@]}" -f "$pom" -P apoc dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$NEO4J_DIST/apoc-all" >>"$log" 2>&1; then
    tail_log "$log"
    fail neo4j "the Maven download failed (network to Maven Central? see $log); re-run 'make services' when it is reachable"
  fi
  # APOC's own jars plus its dependencies that the server does not already carry.
  local f base
  for f in "$NEO4J_DIST"/apoc-all/*.jar; do
    base=$(basename "$f" | sed -E 's/-[0-9][^-]*(-[a-z]+)?\.jar$//')
    compgen -G "$NEO4J_DIST/lib/$base-[0-9]*.jar" >/dev/null || cp "$f" "$NEO4J_DIST/plugins/"
  done
  rm -rf "$NEO4J_DIST/apoc-all"
  touch "$NEO4J_DIST/.complete"
}

neo4j_conf() {
  mkdir -p "$NEO4J_HOME"/{conf,data,logs,run,import}
  # LOAD CSV's only file root must stay empty: analysts could read whatever is put there.
  if [[ -n "$(ls -A "$NEO4J_HOME/import")" ]]; then
    fail neo4j "$NEO4J_HOME/import is not empty; LOAD CSV could read it: move those files elsewhere"
  fi
  cat >"$NEO4J_HOME/conf/neo4j.conf" <<EOF
# Written by ops/services.sh; edit the environment (ops/env.sh), not this file.
server.directories.data=$NEO4J_HOME/data
server.directories.logs=$NEO4J_HOME/logs
server.directories.run=$NEO4J_HOME/run
server.directories.plugins=$NEO4J_DIST/plugins
server.directories.import=$NEO4J_HOME/import
server.default_listen_address=127.0.0.1
server.bolt.listen_address=127.0.0.1:$MEDKB_NEO4J_BOLT_PORT
server.http.listen_address=127.0.0.1:$MEDKB_NEO4J_HTTP_PORT
server.https.enabled=false
dbms.security.auth_enabled=true
server.memory.heap.initial_size=$MEDKB_NEO4J_HEAP
server.memory.heap.max_size=$MEDKB_NEO4J_HEAP
server.memory.pagecache.size=$MEDKB_NEO4J_PAGECACHE
# Analysts share this server (Community has no roles): only procedures and functions that read the
# graph or compute on values are loaded; nothing that reaches files or the network (apoc.load/import/
# export/cypher/periodic/trigger/spatial/util/xml/log are left out). Built-in db.* and dbms.* are not
# affected by the allow-list. LOAD CSV reads file:/// only from the empty import folder above, and
# fetches no URL: every IPv4 and IPv6 address is on Cypher's block list.
dbms.security.procedures.allowlist=$MEDKB_NEO4J_PROCEDURES_ALLOWLIST
internal.dbms.cypher_ip_blocklist=0.0.0.0/0,::/0
dbms.usage_report.enabled=false
EOF
}

NEO4J_JAVA_OPTS=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  -Dio.netty.tryReflectionSetAccessible=true)

neo4j_up() {
  local t0; t0=$(now)
  local pidf="$NEO4J_HOME/run/medkb-neo4j.pid" log="$NEO4J_HOME/logs/console.log"
  if pid_alive "$pidf"; then
    say "neo4j: already running (pid $(cat "$pidf"), bolt://127.0.0.1:$MEDKB_NEO4J_BOLT_PORT)"; return 0
  fi
  if port_open "$MEDKB_NEO4J_BOLT_PORT"; then
    fail neo4j "port $MEDKB_NEO4J_BOLT_PORT is taken by another process; stop it or set MEDKB_NEO4J_BOLT_PORT"
  fi
  neo4j_fetch
  neo4j_conf
  export NEO4J_HOME NEO4J_CONF="$NEO4J_HOME/conf"
  if [[ ! -d "$NEO4J_HOME/data/dbms" ]]; then
    # A fresh store: set the password before the first start (neo4j-admin, same jars).
    java -Xmx256m "${NEO4J_JAVA_OPTS[@]}" -cp "$NEO4J_DIST/plugins/*:$NEO4J_DIST/lib/*" org.neo4j.cli.AdminTool dbms set-initial-password "$MEDKB_NEO4J_PASSWORD" \
      >"$NEO4J_HOME/logs/admin.log" 2>&1 || { tail_log "$NEO4J_HOME/logs/admin.log"; fail neo4j "could not set the initial password"; }
  fi
  nohup java -Xms"$MEDKB_NEO4J_HEAP" -Xmx"$MEDKB_NEO4J_HEAP" "${NEO4J_JAVA_OPTS[@]}" \
    -cp "$NEO4J_DIST/plugins/*:$NEO4J_DIST/lib/*" org.neo4j.server.CommunityEntryPoint \
    --home-dir="$NEO4J_HOME" --config-dir="$NEO4J_HOME/conf" --console-mode \
    </dev/null >"$log" 2>&1 &
  echo $! >"$pidf"
  local i
  for i in $(seq 1 240); do
    if ! pid_alive "$pidf"; then tail_log "$log"; fail neo4j "the server exited during start-up"; fi
    if grep -q 'INFO  Started.' "$log" 2>/dev/null && port_open "$MEDKB_NEO4J_BOLT_PORT"; then
      say "neo4j: ready on bolt://127.0.0.1:$MEDKB_NEO4J_BOLT_PORT (http :$MEDKB_NEO4J_HTTP_PORT, pid $(cat "$pidf")) in $(elapsed "$t0") s"
      return 0
    fi
    sleep 0.5
  done
  tail_log "$log"; fail neo4j "no answer on port $MEDKB_NEO4J_BOLT_PORT after 120 s"
}

neo4j_down() {
  local pidf="$NEO4J_HOME/run/medkb-neo4j.pid"
  if pid_alive "$pidf"; then
    local pid; pid=$(cat "$pidf"); kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    say "neo4j: stopped ($MEDKB_ENV)"
  else
    say "neo4j: not running ($MEDKB_ENV)"
  fi
  rm -f "$pidf"
}

neo4j_status() {
  local pidf="$NEO4J_HOME/run/medkb-neo4j.pid"
  if pid_alive "$pidf"; then say "neo4j: online (pid $(cat "$pidf"), bolt://127.0.0.1:$MEDKB_NEO4J_BOLT_PORT, $MEDKB_ENV)"; return 0; fi
  say "neo4j: down ($MEDKB_ENV)"; return 1
}

# ---------------------------------------------------------------- Redis
redis_up() {
  local t0; t0=$(now)
  local pidf="$REDIS_DIR/redis.pid" log="$REDIS_DIR/redis.log"
  command -v redis-server >/dev/null || fail redis "redis-server is not installed: run 'make install-system' (apt-get install redis-server)"
  mkdir -p "$REDIS_DIR"
  if pid_alive "$pidf"; then say "redis: already running (pid $(cat "$pidf"))"; return 0; fi
  if port_open "$MEDKB_REDIS_PORT"; then
    fail redis "port $MEDKB_REDIS_PORT is taken by another process; stop it or set MEDKB_REDIS_PORT"
  fi
  redis-server --bind 127.0.0.1 --port "$MEDKB_REDIS_PORT" --daemonize yes --pidfile "$pidf" \
    --logfile "$log" --dir "$REDIS_DIR" --save '' --appendonly no || { tail_log "$log"; fail redis "the server did not start"; }
  for _ in $(seq 1 40); do redis-cli -p "$MEDKB_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.25; done
  redis-cli -p "$MEDKB_REDIS_PORT" ping 2>/dev/null | grep -q PONG || { tail_log "$log"; fail redis "no answer on port $MEDKB_REDIS_PORT"; }
  say "redis: ready on 127.0.0.1:$MEDKB_REDIS_PORT in $(elapsed "$t0") s"
}

redis_down() {
  local pidf="$REDIS_DIR/redis.pid"
  if pid_alive "$pidf"; then kill -TERM "$(cat "$pidf")"; sleep 0.3; say "redis: stopped"; else say "redis: not running"; fi
  rm -f "$pidf"
}

redis_status() {
  if pid_alive "$REDIS_DIR/redis.pid"; then say "redis: online (127.0.0.1:$MEDKB_REDIS_PORT)"; return 0; fi
  say "redis: down"; return 1
}

# ---------------------------------------------------------------- main
action="${1:-status}"; shift || true
services=("$@"); [[ ${#services[@]} -gt 0 ]] || services=(postgres neo4j redis)
mkdir -p "$LOCAL"
rc=0
case "$action" in
  up)
    t_all=$(now)
    for s in "${services[@]}"; do "${s}_up" || rc=1; done
    say "services: up in $(elapsed "$t_all") s" ;;
  down)   for s in "${services[@]}"; do "${s}_down" || rc=1; done ;;
  status) for s in "${services[@]}"; do "${s}_status" || rc=1; done ;;
  -h|--help|help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) fail services "unknown action '$action' (use up, down or status)" ;;
esac
exit $rc
