#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 4 : DJANGO PROJECT. Migrations come with the code: the server runs
# 'migrate', never 'makemigrations' (the manual ran it on the server).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

download() {
  if [[ -z ${OCPIZZA_REPO} ]]; then
    echo "OCPIZZA_REPO is empty: set it to the git URL of the project" >&2
    return 1
  fi
  if [[ -d ${OCPIZZA_APP}/.git ]]; then
    runuser -u "${OCPIZZA_USER}" -- git -C "${OCPIZZA_APP}" pull --ff-only origin "${OCPIZZA_BRANCH}"
  else
    runuser -u "${OCPIZZA_USER}" -- git clone --branch "${OCPIZZA_BRANCH}" "${OCPIZZA_REPO}" "${OCPIZZA_APP}"
  fi
  runuser -u "${OCPIZZA_USER}" -- "${OCPIZZA_VENV}/bin/python" -m pip install --quiet -r "${OCPIZZA_APP}/requirements.txt"
}

# The secrets are generated here, on the server, once; they never enter the repository.
new_secret() {
  python3 -c 'import secrets; print(secrets.token_urlsafe(50))'
}

environment_file() {
  if [[ ! -f ${ENV_FILE} ]]; then
    local secret_key
    secret_key="$(new_secret)"
    install -d -m 750 -o root -g "${OCPIZZA_USER}" "$(dirname "${ENV_FILE}")"
    umask 027
    cat >"${ENV_FILE}" <<ENV
ENV_MODE=production
SECRET_KEY=${secret_key}
ALLOWED_HOSTS=${OCPIZZA_DOMAIN},www.${OCPIZZA_DOMAIN}
CSRF_TRUSTED_ORIGINS=https://${OCPIZZA_DOMAIN},https://www.${OCPIZZA_DOMAIN}
SITE_URL=https://${OCPIZZA_DOMAIN}
TRUSTED_PROXY_COUNT=1
DATABASE_URL=postgres:///${OCPIZZA_DB_NAME}
STATIC_ROOT=${OCPIZZA_HOME}/static
MEDIA_ROOT=${OCPIZZA_HOME}/media
BACKUP_DIR=${OCPIZZA_HOME}/backups
LIVE_STREAM_SERVER=unix:${STREAMS_SOCKET}
ENV
    chown root:"${OCPIZZA_USER}" "${ENV_FILE}"
    chmod 640 "${ENV_FILE}"
  fi
  # A file written before the sales journal's archives existed gets its key too; an existing one is kept,
  # since the archives already sealed with it are checked with it.
  if ! grep -q '^ARCHIVE_SIGNING_KEY=' "${ENV_FILE}"; then
    echo "ARCHIVE_SIGNING_KEY=$(new_secret)" >>"${ENV_FILE}"
  fi
  # Where verify_deployment finds the stream server, for a file written before it existed.
  if ! grep -q '^LIVE_STREAM_SERVER=' "${ENV_FILE}"; then
    echo "LIVE_STREAM_SERVER=unix:${STREAMS_SOCKET}" >>"${ENV_FILE}"
  fi
}

manage() {
  as_app "${OCPIZZA_VENV}/bin/python" "${OCPIZZA_APP}/manage.py" "$@"
}

event Project-downloading "check OCPIZZA_REPO=${OCPIZZA_REPO} and OCPIZZA_BRANCH=${OCPIZZA_BRANCH}" download
event Environment-file-creation "check ${ENV_FILE}; add the service keys (GMAP_API_KEY, STRIPE_*, SENTRY_DSN) there" \
  environment_file
event Database-upgrading "read the migrate error in the .out file" manage migrate --noinput
event Ressources-access-formatting "check STATIC_ROOT in ${ENV_FILE}" manage collectstatic --noinput
event Scheduled-jobs-installation "check that cron is installed" manage crontab add
# The task worker and the stream server are started by the next step (gunicorn-scripts.sh), beside gunicorn.
event Deployment-verification "run 'manage.py verify_deployment' as ${OCPIZZA_USER}: it names the failing check (on a first run, write EMAIL_URL and the COMPANY_* legal mentions in ${ENV_FILE})" \
  manage verify_deployment --skip worker --skip streams
