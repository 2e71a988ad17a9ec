#!/bin/sh
# Starts Alertmanager with alertmanager.yml filled in from the environment, which Alertmanager
# itself never reads: the mail server (notify's SMTP_* settings) and the three audiences'
# addresses. Arguments are passed on to Alertmanager.
#   ALERTMANAGER_BIN         the binary (default: the official image's /bin/alertmanager)
#   ALERTMANAGER_CONFIG_OUT  where the filled-in file goes (default: $TMPDIR or /tmp); it holds the
#                            SMTP password, so only its owner may read it
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${ALERTMANAGER_CONFIG_OUT:-${TMPDIR:-/tmp}/dgbv-alertmanager.yml}

fail() {
  echo "cannot start alertmanager: $*" >&2
  exit 2
}

newline='
'
names="SMTP_HOST SMTP_PORT SMTP_FROM SMTP_USERNAME SMTP_PASSWORD COMMITTEE_EMAILS COORDINATOR_EMAILS OPERATIONS_EMAILS"
# Each value lands in a double-quoted YAML string: a quote, a backslash or a line break is refused
# rather than allowed to change the file.
for name in $names; do
  eval "found=\${$name-}"
  case $found in
    *'"'* | *'\'* | *"$newline"*) fail "$name must not contain a double quote, a backslash or a line break" ;;
  esac
done
for name in SMTP_HOST SMTP_PORT SMTP_FROM COMMITTEE_EMAILS COORDINATOR_EMAILS OPERATIONS_EMAILS; do
  eval "found=\${$name-}"
  [ -n "$found" ] || fail "$name is required (.env.example explains it)"
done
case $SMTP_PORT in *[!0-9]*) fail "SMTP_PORT must be a port number" ;; esac

# notify's SMTP_SECURITY, in Alertmanager's terms: it requires STARTTLS unless told otherwise, and
# speaks implicit TLS (ssl) on port 465 only.
require_tls=true
case ${SMTP_SECURITY:-starttls} in
  starttls) ;;
  none) require_tls=false ;;
  ssl)
    [ "$SMTP_PORT" = 465 ] || fail "SMTP_SECURITY=ssl needs SMTP_PORT=465 (Alertmanager uses implicit TLS on that port only)"
    require_tls=false
    ;;
  *) fail "SMTP_SECURITY must be starttls, ssl or none" ;;
esac

# sed's replacement text: & and the | delimiter escaped.
escaped() {
  printf '%s' "$1" | sed 's/[&|]/\\&/g'
}
script="s|^  smtp_require_tls: true|  smtp_require_tls: $require_tls|"
for name in $names; do
  eval "found=\${$name-}"
  script="$script
s|\${$name}|$(escaped "$found")|g"
done
script="$script
s|\${TEMPLATES}|$(escaped "$here/templates")|g"

umask 077
sed -e "$script" "$here/alertmanager.yml" > "$out"
left=$(grep -o '\${[A-Z_]*}' "$out" | head -1 || true)
[ -z "$left" ] || fail "$here/alertmanager.yml has $left, which this script does not fill in"

exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$out" "$@"
