#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# one role and one database per service, each role owning only its own database.
set -euo pipefail

for service in gateway extensions licensing aps; do
  var="$(echo "${service}" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!var:?${var} must be set}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname postgres \
    --set=role="${service}" --set=password="${password}" --set=db="${service}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
