#!/usr/bin/env bash
# Builds the boot assets from Debian packages only, into one directory usable as --boot-assets:
#   discovery  the discovery image (discovery/vmlinuz, discovery/initrd.img: busybox, NIC/disk/
#              filesystem modules, dropbear, sfdisk/mke2fs/zstd) and the iPXE boot files
#              (undionly.kpxe, ipxe.efi, snponly.efi)
#   os         the OS image: a Debian 12 root filesystem made with mmdebstrap (os/debian-12-amd64.tar.zst)
# Cached: an image is rebuilt only when its build files or its packages' versions change.
#
#   bash resources/images/build-images.sh [discovery] [os] [--force]    (default: both)
#   CROWBAR_IMAGES_DIR=DIR  output (default ~/.cache/crowbar-desktop/images)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${CROWBAR_IMAGES_DIR:-${HOME}/.cache/crowbar-desktop/images}"
FORCE=0
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    discovery | os) TARGETS+=("$arg") ;;
    -h | --help)
      sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-images: unknown argument \"$arg\" (try --help)" >&2
      exit 2
      ;;
  esac
done
((${#TARGETS[@]} > 0)) || TARGETS=(discovery os)

say() { printf 'build-images: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# Installs (as root) or names the Debian packages of the programs a build needs: "tool=package"...
require_tools() {
  local pair tool missing=() packages=()
  for pair in "$@"; do
    tool="${pair%%=*}"
    command -v "$tool" >/dev/null 2>&1 || {
      missing+=("$tool")
      packages+=("${pair#*=}")
    }
  done
  ((${#missing[@]} == 0)) && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${packages[*]} for missing tools: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 ||
      die "could not install ${packages[*]}; install them (apt-get install ${packages[*]}) and run again"
    for tool in "${missing[@]}"; do command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing after installing ${packages[*]}"; done
  else
    die "missing tools: ${missing[*]}; install them with: sudo apt-get install ${packages[*]}"
  fi
}

# A fresh machine has no package lists yet: update them once (as root), or say how.
ensure_apt_lists() {
  apt-cache show linux-image-amd64 >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || die "apt knows no linux-image-amd64: run sudo apt-get update (and check /etc/apt/sources.list)"
  say "updating apt's package lists"
  apt-get update -qq >&2 || die "apt-get update failed: check /etc/apt/sources.list and the network"
}

# The cache key of a target: this script, the target's own files, and its packages (`apt-get
# download --print-uris` lines: file names carry the versions, and the hashes).
inputs_hash_of() {
  {
    printf '%s\n' "$2" | awk '{print $2, $4}' | LC_ALL=C sort
    sha256sum "$HERE/build-images.sh" | cut -d' ' -f1
    (cd "$HERE/$1" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# True when the target was built from these inputs and its files are all there.
up_to_date() {
  local target="$1" hash="$2" f
  shift 2
  [ "$FORCE" -eq 0 ] || return 1
  [ "$(cat "$OUT/.$target.inputs-sha256" 2>/dev/null)" = "$hash" ] || return 1
  for f in "$@"; do [ -s "$OUT/$f" ] || return 1; done
  say "$target: up to date in $OUT (inputs ${hash:0:12})"
}

# Moves a staged build into $OUT file by file (each mv is atomic), the cache key last.
install_stage() {
  local target="$1" stage="$2" hash="$3" f
  rm -f "$OUT/.$target.inputs-sha256"
  while IFS= read -r f; do
    mkdir -p "$OUT/$(dirname "$f")"
    mv -f "$stage/$f" "$OUT/$f"
  done < <(cd "$stage" && find . -type f | sed 's|^\./||')
  printf '%s\n' "$hash" >"$OUT/.$target.inputs-sha256"
}

require_tools apt-get=apt apt-cache=apt sha256sum=coreutils find=findutils xargs=findutils flock=util-linux
mkdir -p "$OUT"
# One build at a time per directory; a second caller waits, then finds the images up to date.
exec 9>"$OUT/.lock"
flock 9

for target in "${TARGETS[@]}"; do
  # Each target in a subshell: its variables, work directory and EXIT trap stay its own.
  (
    # shellcheck source=/dev/null # discovery/build.sh or os/build.sh, each checked on its own
    source "$HERE/$target/build.sh"
  )
done
