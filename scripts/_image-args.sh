# Sourced by the offline image builders (build-redis-image.sh,
# build-exporter-image.sh): their shared `[--force] [TAG]` arguments.
# parse_image_args DEFAULT_TAG "$@" sets $force (0/1) and $tag.
parse_image_args() {
  local default=$1 a
  shift
  force=0 tag=""
  for a in "$@"; do
    case $a in
      --force) force=1 ;;
      -*) echo "usage: $0 [--force] [TAG]" >&2; exit 2 ;;
      *) tag=$a ;;
    esac
  done
  tag=${tag:-$default}
}
