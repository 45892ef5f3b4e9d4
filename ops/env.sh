# shellcheck shell=bash
# The documented local defaults for every MedKB setting. Sourced by ops/*.sh and the Makefile.
# Each value can be overridden from the environment; none of these is a production secret:
# deployments take theirs from Airflow connections or .env (see docker-compose.yml).
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export MEDKB_ENV="${MEDKB_ENV:-dev}"                       # dev | test (test: own Neo4j + own PG db)
export MEDKB_LOCAL_DIR="${MEDKB_LOCAL_DIR:-$ROOT/.local}"   # service state, logs, data (git-ignored)
export MEDKB_DATA_DIR="${MEDKB_DATA_DIR:-$MEDKB_LOCAL_DIR/data}"

export MEDKB_PG_PORT="${MEDKB_PG_PORT:-5432}"
export MEDKB_PG_USER="${MEDKB_PG_USER:-medkb}"
export MEDKB_PG_PASSWORD="${MEDKB_PG_PASSWORD:-medkb-local}"
export MEDKB_PG_DB="${MEDKB_PG_DB:-medkb}"
export MEDKB_PG_TEST_DB="${MEDKB_PG_TEST_DB:-medkb_test}"

if [[ "$MEDKB_ENV" == test ]]; then
  # tests choose the dictionary extractor unless a test asks for the model (tests/nlp/test_serving.py)
  export MEDKB_EXTRACTOR="${MEDKB_EXTRACTOR:-dictionary}"
  export MEDKB_NEO4J_BOLT_PORT="${MEDKB_NEO4J_BOLT_PORT:-7688}"
  export MEDKB_NEO4J_HTTP_PORT="${MEDKB_NEO4J_HTTP_PORT:-7475}"
  export MEDKB_NEO4J_HEAP="${MEDKB_NEO4J_HEAP:-1g}"
  export MEDKB_NEO4J_PAGECACHE="${MEDKB_NEO4J_PAGECACHE:-512m}"
  _db="$MEDKB_PG_TEST_DB"
  export MEDKB_AIRFLOW_DB="${MEDKB_AIRFLOW_DB:-airflow_test}"
  export AIRFLOW_HOME="${AIRFLOW_HOME:-$MEDKB_LOCAL_DIR/test/airflow}"
else
  export MEDKB_NEO4J_BOLT_PORT="${MEDKB_NEO4J_BOLT_PORT:-7687}"
  export MEDKB_NEO4J_HTTP_PORT="${MEDKB_NEO4J_HTTP_PORT:-7474}"
  export MEDKB_NEO4J_HEAP="${MEDKB_NEO4J_HEAP:-2g}"
  export MEDKB_NEO4J_PAGECACHE="${MEDKB_NEO4J_PAGECACHE:-1g}"
  _db="$MEDKB_PG_DB"
  export MEDKB_AIRFLOW_DB="${MEDKB_AIRFLOW_DB:-airflow}"
fi
export MEDKB_NEO4J_USER="${MEDKB_NEO4J_USER:-neo4j}"
export MEDKB_NEO4J_PASSWORD="${MEDKB_NEO4J_PASSWORD:-medkb-local-neo4j}"
export MEDKB_REDIS_PORT="${MEDKB_REDIS_PORT:-6379}"
# The APOC procedures and functions Neo4j loads (ops/services.sh; docs/analyst.md says why): values,
# collections, text, maths, paths and schema reads; nothing that reads files or fetches URLs.
export MEDKB_NEO4J_PROCEDURES_ALLOWLIST="${MEDKB_NEO4J_PROCEDURES_ALLOWLIST:-apoc.agg.*,apoc.algo.*,apoc.any.*,apoc.bitwise.*,apoc.coll.*,apoc.convert.*,apoc.data.*,apoc.date.*,apoc.diff.*,apoc.hashing.*,apoc.help,apoc.json.*,apoc.label.*,apoc.map.*,apoc.math.*,apoc.meta.*,apoc.neighbors.*,apoc.node.*,apoc.nodes.*,apoc.number.*,apoc.path.*,apoc.paths.*,apoc.rel.*,apoc.scoring.*,apoc.search.*,apoc.stats.*,apoc.temporal.*,apoc.text.*,apoc.version}"
# Analyst queries (medkb/kb/analyst.py): server-side transaction timeout and the most rows returned.
export MEDKB_ANALYST_TIMEOUT_S="${MEDKB_ANALYST_TIMEOUT_S:-60}"
export MEDKB_ANALYST_MAX_ROWS="${MEDKB_ANALYST_MAX_ROWS:-10000}"

# What the medkb library reads (medkb/settings.py).
export MEDKB_PG_URI="${MEDKB_PG_URI:-postgresql://$MEDKB_PG_USER:$MEDKB_PG_PASSWORD@127.0.0.1:$MEDKB_PG_PORT/$_db}"
export MEDKB_NEO4J_URI="${MEDKB_NEO4J_URI:-bolt://127.0.0.1:$MEDKB_NEO4J_BOLT_PORT}"
# Keyed hash for patient pseudonyms (HMAC key). There is no public default: a deployment sets its own
# secret (docker-compose.yml refuses to start without one); a local checkout gets a random key made on
# first use and kept in the git-ignored $MEDKB_LOCAL_DIR/pseudonym.key (losing it unlinks old records).
if [[ -z "${MEDKB_PSEUDONYM_KEY:-}" ]]; then
  _keyfile="${MEDKB_PSEUDONYM_KEY_FILE:-$MEDKB_LOCAL_DIR/pseudonym.key}"
  if [[ ! -s "$_keyfile" ]]; then
    mkdir -p "$(dirname "$_keyfile")"
    # written aside, then linked into place: two shells starting at once still share one key
    ( umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$_keyfile.$$" \
        && ln "$_keyfile.$$" "$_keyfile" 2>/dev/null; rm -f "$_keyfile.$$" )
  fi
  MEDKB_PSEUDONYM_KEY="$(cat "$_keyfile")"
  export MEDKB_PSEUDONYM_KEY
  unset _keyfile
fi

# Airflow: home inside the project, metadata in the local Postgres, examples off, and the
# connections the DAGs use given as AIRFLOW_CONN_* variables.
export AIRFLOW_HOME="${AIRFLOW_HOME:-$MEDKB_LOCAL_DIR/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$ROOT/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-postgresql+psycopg2://$MEDKB_PG_USER:$MEDKB_PG_PASSWORD@127.0.0.1:$MEDKB_PG_PORT/$MEDKB_AIRFLOW_DB}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__CELERY__BROKER_URL="${AIRFLOW__CELERY__BROKER_URL:-redis://127.0.0.1:$MEDKB_REDIS_PORT/0}"
export AIRFLOW_CONN_MEDKB_POSTGRES="${AIRFLOW_CONN_MEDKB_POSTGRES:-$MEDKB_PG_URI}"
export AIRFLOW_CONN_MEDKB_NEO4J="${AIRFLOW_CONN_MEDKB_NEO4J:-neo4j://$MEDKB_NEO4J_USER:$MEDKB_NEO4J_PASSWORD@127.0.0.1:$MEDKB_NEO4J_BOLT_PORT}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
unset _db

# Validation and PubMed (documented defaults; see medkb/validation and medkb/sources/pubmed.py).
export MEDKB_MAX_FAILURE_RATE="${MEDKB_MAX_FAILURE_RATE:-0.1}"    # a batch failing more than this fails the task
export MEDKB_NCBI_TOOL="${MEDKB_NCBI_TOOL:-medkb}"
export MEDKB_NCBI_EMAIL="${MEDKB_NCBI_EMAIL:-}"                   # NCBI asks for a contact address
export MEDKB_NCBI_API_KEY="${MEDKB_NCBI_API_KEY:-}"               # optional: 10 requests/s instead of 3
# Airflow UI login (ops/airflow.sh): user admin with this password; LocalExecutor parallelism.
export MEDKB_AIRFLOW_ADMIN_PASSWORD="${MEDKB_AIRFLOW_ADMIN_PASSWORD:-medkb-local-admin}"
export MEDKB_AIRFLOW_PARALLELISM="${MEDKB_AIRFLOW_PARALLELISM:-2}"
