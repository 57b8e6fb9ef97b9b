#!/usr/bin/env bash
# What every app instance runs at boot, from the unpacked artifact (Amazon Linux 2023, as root):
#
#   bash RELEASE/deploy/bootstrap/bootstrap.sh ENV_FILE STACK_NAME RESOURCE_ID REGION
#
# RELEASE is the directory the launch template's user data unpacked the artifact into (the
# project's wheel, requirements.lock, build-requirements.lock, wheelhouse/ and this directory). ENV_FILE holds the site's environment,
# one unquoted KEY=VALUE a line; besides the site's variables it names APP_PORT, APP_LOG_GROUP and
# GUNICORN_LOG_GROUP. STACK_NAME, RESOURCE_ID and REGION are what cfn-signal reports to.
#
# Steps, each skipped when a previous run did it with the same inputs (re-running is safe):
# OS packages, the service user, a venv with the locked dependencies and the wheel, the rendered
# files (systemd unit, manage wrapper, logrotate, CloudWatch agent config), the CloudWatch
# agent, collectstatic, the locked migrate, gunicorn under systemd; then it waits for /readyz
# (writer and reader answer) and signals success, or signals failure with the reason.
#
# For tests only: BOOTSTRAP_ROOT prefixes every system path written (a sandbox root),
# BOOTSTRAP_SKIP_PACKAGES=1 skips dnf, BOOTSTRAP_BIND_HOST replaces 0.0.0.0, BOOTSTRAP_IMDS_URL
# replaces the instance metadata service's address, BOOTSTRAP_IMDS_PAUSES,
# BOOTSTRAP_READY_TIMEOUT and BOOTSTRAP_PYTHON replace their defaults. Every other command
# (cfn-signal, systemctl, useradd, runuser, amazon-cloudwatch-agent-ctl) is found on PATH, so a
# test puts fakes first.
set -Eeuo pipefail
umask 022
# Bash 5.2 gives "&" a meaning in ${var//pattern/replacement}; rendered values are literal.
shopt -u patsub_replacement 2>/dev/null || true

if [[ $# -ne 4 ]]; then
  echo "usage: $0 ENV_FILE STACK_NAME RESOURCE_ID REGION" >&2
  exit 2
fi
ENV_FILE=$1
STACK_NAME=$2
RESOURCE_ID=$3
REGION=$4

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RELEASE=$(cd "$HERE/../.." && pwd)
ROOT=${BOOTSTRAP_ROOT:-}
SKIP_PACKAGES=${BOOTSTRAP_SKIP_PACKAGES:-0}
PYTHON=${BOOTSTRAP_PYTHON:-python3.11}
BIND_HOST=${BOOTSTRAP_BIND_HOST:-0.0.0.0}
IMDS=${BOOTSTRAP_IMDS_URL:-http://169.254.169.254}/latest

# The time budget, in one place. Every wait of a boot is bounded, and together they stay inside
# the Auto Scaling group's signal timeout (infra/app.py signal_timeout_minutes, PT20M) with
# BUDGET_MARGIN left for the rest (user data, collectstatic, the migrations themselves, gunicorn
# start); tests/deploy/test_bootstrap.py checks the sum against the compiled app template.
# Instance metadata: each of its 3 calls tries once more than there are pauses, 2 s at most a try.
read -ra IMDS_PAUSES <<<"${BOOTSTRAP_IMDS_PAUSES:-1 2 4 8}"
PACKAGES_TIMEOUT=180       # dnf install of the OS packages (AL2023 repositories, S3 endpoint)
INSTALL_TIMEOUT=240        # pip install from the artifact's wheelhouse (mysqlclient compiles)
MIGRATE_LOCK_TIMEOUT=300   # waiting for another instance's migrate to release its lock
READY_TIMEOUT=${BOOTSTRAP_READY_TIMEOUT:-180}  # /readyz: writer and reader answer
BUDGET_MARGIN=180

SERVICE=employees-site
APP_USER=employees-site
VENV=$RELEASE/venv
MARKS=$RELEASE/.bootstrap
STATE_DIR=$ROOT/var/lib/$SERVICE
LOG_DIR=$ROOT/var/log/$SERVICE
UNIT=$ROOT/etc/systemd/system/$SERVICE.service
MANAGE=$ROOT/usr/local/bin/$SERVICE-manage
LOGROTATE=$ROOT/etc/logrotate.d/$SERVICE
CWAGENT_CONFIG=$ROOT/etc/$SERVICE/cloudwatch-agent.json
# cfn-signal's --reason reaches only the cfn-bootstrap log: SignalResource has no reason field.
# The console is where an operator can read it (aws ec2 get-console-output), even when the
# failure came before the CloudWatch agent was set up.
CONSOLE=$ROOT/dev/console
# mysqlclient builds from source: compiler, Python headers, the MariaDB client library, pkg-config.
PACKAGES=(python3.11 python3.11-devel gcc mariadb-connector-c-devel pkgconf-pkg-config
  amazon-cloudwatch-agent aws-cfn-bootstrap logrotate)
# cfn-signal and the agent's control script live outside PATH; appended, so test fakes win.
PATH=$PATH:/opt/aws/bin:/opt/aws/amazon-cloudwatch-agent/bin

STEP=start
LAST_ERROR=
SIGNALLED=0

log() { printf '%s bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

step() {
  STEP=$1
  LAST_ERROR=
  log "== $STEP"
}

# Runs a command with its output in the log; on failure its last output line becomes the reason.
run() {
  local output status=0
  output=$(mktemp)
  "$@" >"$output" 2>&1 || status=$?
  cat "$output"
  if ((status == 0)); then
    rm -f "$output"
    return 0
  fi
  LAST_ERROR=$(grep -v '^[[:space:]]*$' "$output" | tail -n 1 || true)
  rm -f "$output"
  if [[ $1 == timeout && $status == 124 ]]; then
    LAST_ERROR="$3 did not finish within its ${2}s budget${LAST_ERROR:+ (last: $LAST_ERROR)}"
  fi
  return 1
}

# cfn-signal EXIT_CODE [REASON]. Outside a stack create or update nothing waits for a signal and
# cfn-signal fails (e.g. an instance that Auto Scaling replaced later): logged, not fatal.
signal() {
  SIGNALLED=1
  local args=(--exit-code "$1" --stack "$STACK_NAME" --resource "$RESOURCE_ID" --region "$REGION")
  if [[ -n ${2:-} ]]; then
    local reason=${2//$'\n'/ }
    args+=(--reason "${reason:0:250}")
    if [[ -w $CONSOLE ]] || [[ ! -e $CONSOLE && -d ${CONSOLE%/*} ]]; then
      printf '%s bootstrap: %s signal %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SERVICE" \
        "$1" "${reason:0:500}" >>"$CONSOLE" || true
    fi
  fi
  log "cfn-signal ${args[*]}"
  cfn-signal "${args[@]}" || log "cfn-signal failed; nothing was waiting for a signal?"
}

on_exit() {
  local status=$?
  if ((status != 0 && SIGNALLED == 0)); then
    signal 1 "$STEP failed${LAST_ERROR:+: $LAST_ERROR}"
  fi
  exit "$status"
}
trap on_exit EXIT

# The environment file as NAME=VALUE words (comments and blank lines skipped), in ENVIRONMENT.
read_environment() {
  ENVIRONMENT=()
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ ! $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
      LAST_ERROR="$ENV_FILE: not NAME=VALUE: ${line:0:40}"
      return 1
    fi
    ENVIRONMENT+=("$line")
  done <"$ENV_FILE"
}

# The value of NAME in the environment file (empty when absent).
setting() {
  local entry
  for entry in "${ENVIRONMENT[@]}"; do
    if [[ ${entry%%=*} == "$1" ]]; then
      printf '%s' "${entry#*=}"
      return 0
    fi
  done
}

# Sets the shell variable NAME to NAME's value in the environment file, which must have it.
require() {
  local value
  value=$(setting "$1")
  if [[ -z $value ]]; then
    LAST_ERROR="$ENV_FILE has no $1"
    return 1
  fi
  printf -v "$1" '%s' "$value"
}

# render TEMPLATE DEST MODE: @NAME@ becomes the value of the shell variable NAME. Writes DEST only
# when its text changes, and sets CHANGED to 1 when it did, 0 when DEST was up to date.
render() {
  local text name
  text=$(<"$HERE/$1")
  for name in APP_USER BIND ENV_FILE WEB_ENV_FILE GUNICORN_CONFIG GUNICORN_LOG_GROUP APP_LOG_GROUP \
    LOG_DIR SERVICE VENV FORWARDED; do
    text=${text//@"$name"@/${!name}}
  done
  if [[ $text =~ @[A-Z_]+@ ]]; then
    LAST_ERROR="$1: no value for ${BASH_REMATCH[0]}"
    return 1
  fi
  CHANGED=0
  if [[ -f $2 && $(<"$2") == "$text" ]]; then
    return 0
  fi
  install -d -m 0755 "$(dirname "$2")"
  printf '%s\n' "$text" >"$2.new"
  chmod "$3" "$2.new"
  mv -f "$2.new" "$2"
  CHANGED=1
  log "wrote $2"
}

# Whether MARK records exactly VALUE (a step done with these inputs).
done_with() { [[ -f $MARKS/$1 && $(<"$MARKS/$1") == "$2" ]]; }
mark() { printf '%s\n' "$2" >"$MARKS/$1"; }

# imds NAME PATH [PUT]: sets the variable NAME to one instance metadata path's answer, retried
# after each pause of IMDS_PAUSES (IMDS throttles, and answers late while the instance is still
# starting). On failure LAST_ERROR names the path and curl's last error, and the status is 1.
imds() {
  local attempt=0 output headers=()
  if [[ ${3:-GET} == PUT ]]; then
    headers=(-X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
  else
    headers=(-H "X-aws-ec2-metadata-token: $IMDS_TOKEN")
  fi
  while :; do
    if output=$(curl -fsS --max-time 2 "${headers[@]}" "$IMDS/$2" 2>&1); then
      printf -v "$1" '%s' "$output"
      return 0
    fi
    output=${output##*$'\n'}
    log "instance metadata $2: attempt $((attempt + 1)) failed: $output"
    if ((attempt == ${#IMDS_PAUSES[@]})); then
      LAST_ERROR="instance metadata $2 unreachable after $((attempt + 1)) attempts: $output"
      return 1
    fi
    sleep "${IMDS_PAUSES[attempt]}"
    attempt=$((attempt + 1))
  done
}

# The VPC's CIDR blocks from IMDSv2, in FORWARDED: the load balancer's nodes, whose X-Forwarded-*
# gunicorn trusts. No fallback: trusting only 127.0.0.1 would make every HTTPS request look like
# plain HTTP to the site (a redirect loop for every user) while the ALB's health checks pass.
vpc_cidrs() {
  local mac cidrs
  imds IMDS_TOKEN api/token PUT || return 1
  imds mac meta-data/mac || return 1
  imds cidrs "meta-data/network/interfaces/macs/$mac/vpc-ipv4-cidr-blocks" || return 1
  FORWARDED=$(paste -sd, - <<<"$cidrs")
  if [[ -z $FORWARDED ]]; then
    LAST_ERROR="instance metadata gave no VPC CIDR block for $mac"
    return 1
  fi
}

# offline_install ARGS: pip install from the release's wheelhouse only, within what is left of
# INSTALL_TIMEOUT. --no-index: no package index, ever; --require-hashes: only files whose sha256
# the lock names; --no-deps: exactly the locked set (pip check proves it complete); --isolated
# and PIP_CONFIG_FILE=/dev/null: no pip configuration or PIP_* variable can add an index or
# another find-links. In the release directory: the lock names the app's wheel as ./NAME.whl.
offline_install() {
  local left=$((INSTALL_DEADLINE - SECONDS)) status=0
  if ((left <= 0)); then
    LAST_ERROR="pip install did not finish within its ${INSTALL_TIMEOUT}s budget"
    return 1
  fi
  cd "$RELEASE"
  PIP_CONFIG_FILE=/dev/null run timeout "$left" "$VENV/bin/python" -I -m pip --isolated install \
    --no-input --disable-pip-version-check --no-cache-dir --no-index --find-links wheelhouse \
    --require-hashes --no-deps "$@" || status=$?
  cd /
  return "$status"
}

# ------------------------------------------------------------------------------------------

install -d -m 0750 "$LOG_DIR"
install -d -m 0755 "$STATE_DIR" "$MARKS"
[[ -f $LOG_DIR/bootstrap.log ]] || install -m 0640 /dev/null "$LOG_DIR/bootstrap.log"
exec > >(tee -a "$LOG_DIR/bootstrap.log") 2>&1
log "release $RELEASE, stack $STACK_NAME, resource $RESOURCE_ID, region $REGION"
log "time budget: packages ${PACKAGES_TIMEOUT}s, install ${INSTALL_TIMEOUT}s, migrate lock" \
  "${MIGRATE_LOCK_TIMEOUT}s, readiness ${READY_TIMEOUT}s, margin ${BUDGET_MARGIN}s"

step "reading $ENV_FILE"
read_environment
# gunicorn's environment: everything but the master user's secret, which only migrate and the
# manage wrapper (both read ENV_FILE) get; the web processes connect as the application user.
WEB_ENV_FILE=${ENV_FILE%/*}/web.env
WEB_ENVIRONMENT=()
for entry in "${ENVIRONMENT[@]}"; do
  [[ ${entry%%=*} == DB_MIGRATE_SECRET_ID ]] || WEB_ENVIRONMENT+=("$entry")
done
if [[ ! -f $WEB_ENV_FILE || $(<"$WEB_ENV_FILE") != "$(printf '%s\n' "${WEB_ENVIRONMENT[@]}")" ]]; then
  install -m 0600 /dev/null "$WEB_ENV_FILE.new"
  printf '%s\n' "${WEB_ENVIRONMENT[@]}" >"$WEB_ENV_FILE.new"
  mv -f "$WEB_ENV_FILE.new" "$WEB_ENV_FILE"
  log "wrote $WEB_ENV_FILE (without DB_MIGRATE_SECRET_ID)"
fi
require APP_PORT
require APP_LOG_GROUP
require GUNICORN_LOG_GROUP
# shellcheck disable=SC2034 # BIND and GUNICORN_CONFIG are read by render (${!name})
BIND=$BIND_HOST:$APP_PORT
PROBE=http://127.0.0.1:$APP_PORT/readyz

step "load balancer addresses (FORWARDED_ALLOW_IPS)"
FORWARDED=$(setting FORWARDED_ALLOW_IPS)
if [[ -n $FORWARDED ]]; then
  log "from $ENV_FILE: $FORWARDED"
else
  vpc_cidrs
  log "the VPC's CIDR blocks: $FORWARDED"
fi

step "OS packages"
if [[ $SKIP_PACKAGES == 1 ]]; then
  log "skipped (BOOTSTRAP_SKIP_PACKAGES=1)"
elif [[ -f $STATE_DIR/packages && $(<"$STATE_DIR/packages") == "${PACKAGES[*]}" ]]; then
  log "already installed"
else
  run timeout "$PACKAGES_TIMEOUT" dnf install -y -q --setopt=retries=5 "${PACKAGES[@]}"
  printf '%s\n' "${PACKAGES[*]}" >"$STATE_DIR/packages"
fi

step "service user $APP_USER"
if getent passwd "$APP_USER" >/dev/null; then
  log "exists"
else
  run useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /sbin/nologin "$APP_USER"
fi

step "release directory"
# User data may unpack under a restrictive umask; the service user must reach the venv.
chmod go+rx "$RELEASE"
chmod go+x "$(dirname "$RELEASE")" "$(dirname "$(dirname "$RELEASE")")"
shopt -s nullglob
wheels=("$RELEASE"/*.whl)
shopt -u nullglob
if [[ ${#wheels[@]} -ne 1 || ! -f $RELEASE/requirements.lock || ! -d $RELEASE/wheelhouse ]]; then
  LAST_ERROR="$RELEASE needs exactly one wheel, requirements.lock and wheelhouse/ (found"
  LAST_ERROR+=" ${#wheels[@]} wheels): an artifact built by python -m deploy"
  exit 1
fi
WHEEL=${wheels[0]}
LOCKS=("$RELEASE/requirements.lock")
[[ -f $RELEASE/build-requirements.lock ]] && LOCKS+=("$RELEASE/build-requirements.lock")
# The locks carry the hash of every file installed, the wheel's included.
INPUTS=$(cat "${LOCKS[@]}" | sha256sum | cut -d' ' -f1)

step "virtualenv and locked dependencies"
if done_with installed "$INPUTS"; then
  log "already installed: $(basename "$WHEEL")"
else
  [[ -x $VENV/bin/python ]] || run "$PYTHON" -m venv "$VENV"
  started=$SECONDS
  INSTALL_DEADLINE=$((SECONDS + INSTALL_TIMEOUT))
  # What builds the source distributions (mysqlclient) first: --no-build-isolation below builds
  # with it, so the build tools are hash-checked too (an isolated build would fetch them).
  if [[ -f $RELEASE/build-requirements.lock ]]; then
    offline_install -r build-requirements.lock
  fi
  offline_install --no-build-isolation -r requirements.lock
  run "$VENV/bin/python" -I -m pip --isolated check
  log "installed from the artifact in $((SECONDS - started))s"
  mark installed "$INPUTS"
fi
# shellcheck disable=SC2034
GUNICORN_CONFIG=$("$VENV/bin/python" -I -c \
  'import employees_site, pathlib; print(pathlib.Path(employees_site.__file__).with_name("gunicorn.conf.py"))')

step "rendered files"
render employees-site.service.in "$UNIT" 0644
UNIT_CHANGED=$CHANGED
render employees-site-manage.in "$MANAGE" 0755
render logrotate.in "$LOGROTATE" 0644
render cloudwatch-agent.json.in "$CWAGENT_CONFIG" 0644
CWAGENT_CHANGED=$CHANGED
# The site's CA bundle is public; the service user must read it (user data may write it 0640).
DB_SSL_CA=$(setting DB_SSL_CA)
if [[ -n $DB_SSL_CA && -f $DB_SSL_CA ]]; then chmod a+r "$DB_SSL_CA"; fi
for name in app gunicorn; do
  [[ -f $LOG_DIR/$name.log ]] || install -m 0640 /dev/null "$LOG_DIR/$name.log"
done

step "CloudWatch agent"
if ((CWAGENT_CHANGED == 0)) && done_with cwagent "$(sha256sum <"$CWAGENT_CONFIG")"; then
  log "already configured"
else
  run amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$CWAGENT_CONFIG"
  mark cwagent "$(sha256sum <"$CWAGENT_CONFIG")"
fi

step "collectstatic"
if done_with collectstatic "$INPUTS"; then
  log "already collected"
else
  # As root: the files go into the release's venv, which the service only reads.
  run env -i PATH="$VENV/bin:/usr/bin:/bin" LANG=C.UTF-8 "${WEB_ENVIRONMENT[@]}" \
    DJANGO_SETTINGS_MODULE=employees_site.settings \
    "$VENV/bin/python" -I -m django collectstatic --noinput
  mark collectstatic "$INPUTS"
fi

step "migrate"
if done_with migrated "$INPUTS"; then
  log "already migrated"
else
  # The project's migrate runs on the writer under a named lock: instances booting together
  # apply the migrations once, the others wait and find nothing to do.
  run "$MANAGE" migrate --noinput --lock-timeout "$MIGRATE_LOCK_TIMEOUT"
  mark migrated "$INPUTS"
fi

step "gunicorn under systemd"
ENV_HASH=$(sha256sum <"$WEB_ENV_FILE")
if ((UNIT_CHANGED == 1)); then
  run systemctl daemon-reload
fi
# Every run: a run that wrote the unit and then failed (migrate, say) never got this far, and a
# unit that is not enabled does not come back after a reboot.
run systemctl enable "$SERVICE.service"
if ((UNIT_CHANGED == 1)) || ! done_with environment "$ENV_HASH"; then
  # A new release or a new environment: the running server (if any) must not keep the old.
  run systemctl restart "$SERVICE.service"
else
  run systemctl start "$SERVICE.service"
fi
mark environment "$ENV_HASH"

step "waiting for $PROBE"
deadline=$((SECONDS + READY_TIMEOUT))
answer=
while :; do
  answer=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$PROBE") || true
  [[ $answer == 200 ]] && break
  if ((SECONDS >= deadline)); then
    [[ $answer =~ ^[1-5][0-9][0-9]$ ]] || answer="no answer"
    body=$(curl -s --max-time 5 "$PROBE" | head -c 160 || true)
    LAST_ERROR="no 200 from /readyz in ${READY_TIMEOUT}s (last: $answer $body)"
    exit 1
  fi
  sleep 2
done
log "/readyz answered 200"

signal 0
log "done"
