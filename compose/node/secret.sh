# Sourced by start-node.sh and init-cluster.sh (POSIX sh, no fork but `cat`).
# Callers set SECRET (the secret's path) and PROG (the name in messages).

die() {
  printf '%s: %s\n' "$PROG" "$2" >&2
  exit "$1"
}

# Sets $password from the secret: trailing CR/LF/blanks trimmed (a file saved on
# Windows ends in CRLF, which Redis would take as part of the password).
read_password() {
  [ -e "$SECRET" ] || die 78 "secret $SECRET is missing: declare the redis_password secret for this service"
  [ -r "$SECRET" ] || die 78 "secret $SECRET is not readable by uid $(id -u): on the host, chgrp $(id -g) the secret file and chmod 640 it"
  password=$(cat "$SECRET")
  cr=$(printf '\r')
  while :; do
    case $password in
      *"$cr" | *' ' | *'	') password=${password%?} ;;
      *) break ;;
    esac
  done
  case $password in
    '') die 78 "secret $SECRET is empty" ;;
    *[[:space:]]* | *\"* | *\'*) die 78 "secret $SECRET contains whitespace or quotes: use letters, digits and punctuation only" ;;
  esac
}
