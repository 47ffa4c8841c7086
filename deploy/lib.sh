# shellcheck shell=bash
# Settings and logging shared by deploy-engine.sh and its six step scripts.
# Every setting can be given in the environment; none of them is a secret.

: "${OCPIZZA_USER:=ocpizza}"                  # system user running gunicorn; no sudo, no login
: "${OCPIZZA_DOMAIN:=ocpizza.fr}"
: "${OCPIZZA_HOME:=/srv/ocpizza}"
: "${OCPIZZA_APP:=${OCPIZZA_HOME}/app}"       # the Django project (manage.py)
: "${OCPIZZA_VENV:=${OCPIZZA_HOME}/venv}"
: "${OCPIZZA_REPO:=$(git -C "$(dirname "${BASH_SOURCE[0]}")/.." remote get-url origin 2>/dev/null || true)}"  # default: where this engine was cloned from
: "${OCPIZZA_BRANCH:=main}"
: "${OCPIZZA_DB_NAME:=ocpizza}"
: "${ENV_FILE:=/etc/ocpizza/ocpizza.env}"    # secrets, generated on the server, mode 640
: "${GUNICORN_SOCKET:=/run/gunicorn.sock}"
: "${GUNICORN_SERVICE:=gunicorn}"             # reloaded by updates; ocpizza-supervisor under supervisord
: "${WORKER_SERVICE=ocpizza-worker}"         # restarted by updates; empty under supervisord (its reload restarts the worker)
: "${STREAMS_SOCKET:=${OCPIZZA_HOME}/streams/streams.sock}"  # the stream server's socket (nginx's /flux/)
: "${STREAMS_SERVICE=ocpizza-streams}"       # restarted by updates; empty under supervisord (its reload restarts it)
: "${NGINX_SITE:=/etc/nginx/sites-available/ocpizza}"
: "${NGINX_ENABLED:=/etc/nginx/sites-enabled}"  # where the site is linked (and the default site removed)
: "${SYSTEMD_DIR:=/etc/systemd/system}"
: "${DEPLOY_LOG:=${PWD}/deploy_logs}"
: "${DRY_RUN:=0}"
export OCPIZZA_USER OCPIZZA_DOMAIN OCPIZZA_HOME OCPIZZA_APP OCPIZZA_VENV OCPIZZA_REPO OCPIZZA_BRANCH \
  OCPIZZA_DB_NAME ENV_FILE GUNICORN_SOCKET GUNICORN_SERVICE WORKER_SERVICE STREAMS_SOCKET STREAMS_SERVICE NGINX_SITE NGINX_ENABLED SYSTEMD_DIR DEPLOY_LOG DRY_RUN

# A failure inside $(...) fails the command that uses it, as everywhere else.
shopt -s inherit_errexit

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEPLOY_DIR

# 2024-01-31_06-00-00-123: the manual's date format, milliseconds included, in UTC.
stamp() {
  local now
  now="$(TZ=UTC date +%Y-%m-%d_%H-%M-%S-%N)"  # UTC, like every log line of the application
  printf '%s' "${now:0:${#now}-6}"
}

# event NAME HINT COMMAND...: run one sub-step and write its CORRECT / ERROR line.
# Command output goes to "${DEPLOY_LOG}.out"; on error the engine stops and says what to fix.
# The sub-step runs in a subshell with errexit on, outside any 'if': bash ignores
# 'set -e' inside an 'if' condition (and in functions called from one), so
# 'if "$@"' would let a failed 'git pull' or 'apt-get update' pass as long as
# the sub-step's last command succeeded.
# A dry run runs nothing, so it claims nothing: its lines end with "> DRY-RUN".
event() {
  local name=$1 hint=$2 status errexit=0
  shift 2
  [[ $- == *e* ]] && errexit=1
  if [[ ${DRY_RUN} == 1 ]]; then
    printf '    would run: %s\n' "$*"
    printf '%s : %s > DRY-RUN\n' "$(stamp)" "${name}" >>"${DEPLOY_LOG}"
    return 0
  fi
  printf '\n== %s : %s\n$ %s\n' "$(stamp)" "${name}" "$*" >>"${DEPLOY_LOG}.out"
  set +e
  (
    set -euo pipefail
    "$@"
  ) >>"${DEPLOY_LOG}.out" 2>&1
  status=$?
  if [[ ${errexit} == 1 ]]; then set -e; fi
  if [[ ${status} -eq 0 ]]; then
    printf '%s : %s > CORRECT\n' "$(stamp)" "${name}" >>"${DEPLOY_LOG}"
  else
    printf '%s : %s > ERROR\n' "$(stamp)" "${name}" >>"${DEPLOY_LOG}"
    printf '# To fix: %s (details in %s.out)\n' "${hint}" "${DEPLOY_LOG}" >>"${DEPLOY_LOG}"
    printf 'ERROR at %s: %s\n' "${name}" "${hint}" >&2
    exit 1
  fi
}

# as_app COMMAND...: run as the application user with the site's environment file.
as_app() {
  runuser -u "${OCPIZZA_USER}" -- env ENV_FILE="${ENV_FILE}" "$@"
}

# render TEMPLATE TARGET: copy a conf file with its @PLACEHOLDERS@ filled in.
render() {
  sed -e "s|@OCPIZZA_USER@|${OCPIZZA_USER}|g" \
    -e "s|@OCPIZZA_DOMAIN@|${OCPIZZA_DOMAIN}|g" \
    -e "s|@OCPIZZA_HOME@|${OCPIZZA_HOME}|g" \
    -e "s|@OCPIZZA_APP@|${OCPIZZA_APP}|g" \
    -e "s|@OCPIZZA_VENV@|${OCPIZZA_VENV}|g" \
    -e "s|@ENV_FILE@|${ENV_FILE}|g" \
    -e "s|@GUNICORN_SOCKET@|${GUNICORN_SOCKET}|g" \
    -e "s|@STREAMS_SOCKET@|${STREAMS_SOCKET}|g" \
    "$1" >"$2"
}
