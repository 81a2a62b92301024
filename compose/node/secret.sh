# Sourced by start-node.sh, init-cluster.sh and start-exporter.sh (POSIX sh, no fork
# but `cat`). Callers set PROG (the name in messages).

die() {
  printf '%s: %s\n' "$PROG" "$2" >&2
  exit "$1"
}

# readable FILE: dies (78) naming the fix unless the container's user can read FILE.
readable() {
  [ -e "$1" ] || die 78 "secret $1 is missing: declare it for this service (compose/docker-compose.yml) and create it with \`pnpm secrets:init\`"
  [ -r "$1" ] || die 78 "secret $1 is not readable by uid $(id -u): on the host, chgrp $(id -g) the secret file and chmod 640 it"
}

# read_password FILE: sets $password from a user's secret: trailing CR/LF/blanks
# trimmed (a file saved on Windows ends in CRLF, which Redis would take as part of the password).
read_password() {
  readable "$1"
  password=$(cat "$1")
  cr=$(printf '\r')
  while :; do
    case $password in
      *"$cr" | *' ' | *'	') password=${password%?} ;;
      *) break ;;
    esac
  done
  case $password in
    '') die 78 "secret $1 is empty" ;;
    *[[:space:]]* | *\"* | *\'*) die 78 "secret $1 contains whitespace or quotes: use letters, digits and punctuation only" ;;
  esac
}
