#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 2 : POSTGRESQL. The database belongs to a role named like the system
# user: Django connects through the local socket with peer authentication, so
# there is no database password to write anywhere (the manual had one in clear).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

psql_admin() {
  runuser -u postgres -- psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 "$@"
}

create_database() {
  if ! psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${OCPIZZA_DB_NAME}'" | grep -q 1; then
    runuser -u postgres -- createdb --encoding=UTF8 "${OCPIZZA_DB_NAME}"
  fi
}

create_role() {
  if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${OCPIZZA_USER}'" | grep -q 1; then
    runuser -u postgres -- createuser --no-superuser --no-createrole "${OCPIZZA_USER}"
  fi
  psql_admin -c "ALTER ROLE \"${OCPIZZA_USER}\" SET client_encoding TO 'utf8'" \
    -c "ALTER ROLE \"${OCPIZZA_USER}\" SET default_transaction_isolation TO 'read committed'" \
    -c "ALTER ROLE \"${OCPIZZA_USER}\" SET timezone TO 'UTC'"
}

associate() {
  psql_admin -c "ALTER DATABASE \"${OCPIZZA_DB_NAME}\" OWNER TO \"${OCPIZZA_USER}\""
}

event Database-creation "check that PostgreSQL runs: 'systemctl status postgresql'" create_database
event Psql-user-creation "check the role name ${OCPIZZA_USER} in PostgreSQL" create_role
event User-association "check that database ${OCPIZZA_DB_NAME} exists" associate
