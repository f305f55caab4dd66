#!/usr/bin/env bash
# One-step set-up for dbgalloc on Debian 12: installs what is missing, then configures
# and builds build/ (gcc) and, with --fuzz, build-fuzz/ (clang, -Dfuzzing=true).
# Idempotent: when everything is installed and configured it only runs ninja.
#
#   tools/setup.sh [--fuzz] [--werror] [--bench-peers] [--no-build] [-j N]
#
# --bench-peers: also install the allocators the benchmark suite compares with
# (jemalloc, Electric Fence, DUMA; tools/bench/suite/run.py --install-peers runs this).
# --werror: build/ (gcc) treats warnings as errors (meson -Dwerror=true), as CI does
# (tools/test.sh); the warnings tests make on purpose are silenced per target.
#
# Environment: DBGALLOC_JOBS (ninja parallelism, default: number of cores).
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

fuzz=0
build=1
werror=()
bench_peers=0
jobs=${DBGALLOC_JOBS:-}
while [ $# -gt 0 ]; do
  case $1 in
    --fuzz) fuzz=1 ;;
    --no-build) build=0 ;;
    --werror) werror=(-Dwerror=true) ;;
    --bench-peers) bench_peers=1 ;;
    -j) shift; jobs=${1:?-j needs a number} ;;
    -j*) jobs=${1#-j} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'setup: %s\n' "$*"; }

# quietly LABEL CMD...: runs CMD with its output in a log, printed only on failure.
quietly() {
  local label=$1 log; shift
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    if [ "$(wc -l <"$log")" -gt 80 ]; then
      grep -m 10 -A 3 '^FAILED: ' "$log" >&2 || true
      echo "[...] (last 50 lines of $(wc -l <"$log")):" >&2
      tail -n 50 "$log" >&2
    else
      cat "$log" >&2
    fi
    rm -f "$log"
    echo "setup: $label failed" >&2
    return 1
  fi
  rm -f "$log"
}

# --- packages ---------------------------------------------------------------------
# Required: the build, the unit tests and the real programs the integration tests run
# (python3-jsonschema: the SARIF schema test).
required=(meson ninja-build clang g++ pkg-config libgtest-dev libboost-dev
          libboost-stacktrace1.74-dev libgcc-12-dev python3 python3-jsonschema perl sqlite3 git file)
# Optional: llvm-symbolizer, valgrind, jemalloc (a peer the benchmark suite measures).
# Added when something must be installed anyway,
# so a machine without them does not run apt-get on every call.
optional=(llvm valgrind libjemalloc2)
[ $bench_peers = 0 ] || required+=(libjemalloc2 electric-fence duma)

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# libFuzzer/ASan runtimes for --fuzz: a separate package on Debian 12.
fuzzer_rt_present() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local f
  f=$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null) || return 1
  [ -f "$f" ]
}

missing=()
for p in "${required[@]}"; do is_installed "$p" || missing+=("$p"); done
if ! fuzzer_rt_present && ! is_installed libclang-rt-14-dev; then
  missing+=(libclang-rt-14-dev)   # only if apt knows it (checked after the update)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run as root (or install sudo) so that they can be installed" >&2
    exit 1
  fi
  apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
       -o Dpkg::Use-Pty=0 --no-install-recommends)
  say "apt-get update"
  quietly "apt-get update" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update </dev/null
  install=()
  for p in "${missing[@]}"; do
    if [ "$p" = libclang-rt-14-dev ] && ! apt-cache show "$p" >/dev/null 2>&1; then
      continue
    fi
    install+=("$p")
  done
  say "installing ${install[*]}"
  quietly "apt-get install" "${apt[@]}" install "${install[@]}" </dev/null
  for p in "${optional[@]}"; do
    is_installed "$p" && continue
    say "installing $p (optional)"
    "${apt[@]}" install "$p" </dev/null >/dev/null 2>&1 || say "could not install $p (optional, skipped)"
  done
else
  say "all packages present"
fi

[ $build = 1 ] || exit 0

# --- configure and build ------------------------------------------------------------
ninja_jobs=()
[ -n "$jobs" ] && ninja_jobs=(-j "$jobs")

# configure DIR CC CXX [meson options...]
configure() {
  local dir=$1 cc=$2 cxx=$3; shift 3
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    say "reconfiguring ${dir#"$root"/}"
    quietly "meson setup --reconfigure ${dir#"$root"/}" meson setup --reconfigure "$dir" "$root" "$@"
  else
    say "configuring ${dir#"$root"/} with $cxx"
    quietly "meson setup ${dir#"$root"/}" env CC="$cc" CXX="$cxx" meson setup "$dir" "$root" "$@"
  fi
}

build_dir() {
  local dir=$1
  say "building ${dir#"$root"/}"
  # -k 0: build all that can be built, so one broken target does not hide the rest.
  quietly "build of ${dir#"$root"/}" ninja -C "$dir" -k 0 "${ninja_jobs[@]}"
}

configure "$root/build" gcc g++ "${werror[@]}"
build_dir "$root/build"

if [ $fuzz = 1 ]; then
  if ! fuzzer_rt_present; then
    echo "setup: clang's libFuzzer runtime is missing (libclang-rt-14-dev)" >&2
    exit 1
  fi
  configure "$root/build-fuzz" clang clang++ -Dfuzzing=true
  build_dir "$root/build-fuzz"
fi
if [ $fuzz = 1 ]; then say "done: build/ and build-fuzz/"; else say "done: build/"; fi
