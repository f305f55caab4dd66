#!/usr/bin/env bash
# examples_test.sh SOURCE_ROOT BUILD_ROOT [meson|cmake|pkg-config ...]
# Builds docs/examples/gtest_listener three ways, each as a user would: with Meson
# (dbgalloc as a subproject), with CMake (find_package on an installed dbgalloc) and
# with make + pkg-config (static and shared). The install is BUILD_ROOT's, staged
# with `meson install --destdir`. Each resulting test binary must pass, and must fail
# the test that leaks on purpose with dbgalloc's report (the listener is live).
set -uo pipefail
source_root=${1:?usage: examples_test.sh SOURCE_ROOT BUILD_ROOT [WAYS...]}
build_root=${2:?}
shift 2
ways=("$@")
[ ${#ways[@]} -gt 0 ] || ways=(pkg-config cmake meson)
example=$source_root/docs/examples/gtest_listener
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset DBGALLOC_OPTIONS LD_PRELOAD
export GTEST_COLOR=no
failed=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok: $1"; else printf 'FAIL: %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; failed=1; fi
}
step() {  # step DESCRIPTION LOG COMMAND...: runs COMMAND, shows LOG's tail on failure
  local what=$1 log=$2
  shift 2
  if "$@" >"$log" 2>&1; then echo "ok: $what"; return 0; fi
  printf 'FAIL: %s\n' "$what"; tail -n 30 "$log" | sed 's/^/  | /'; failed=1; return 1
}
# verify NAME BINARY: the example's tests pass; the leaking one fails with the report.
verify() {
  local name=$1 binary=$2
  "$binary" >"$tmp/$name.out" 2>&1
  check "$name: the example's tests pass" 0 $?
  "$binary" --gtest_also_run_disabled_tests --gtest_filter='*leaks_on_purpose' >"$tmp/$name.leak" 2>&1
  check "$name: the leaking test fails" 1 $?
  if grep -q 'this test leaked 1 block(s)' "$tmp/$name.leak" && grep -q 'Direct leak of 32 byte(s)' "$tmp/$name.leak"; then
    echo "ok: $name: ... with dbgalloc's leak report"
  else
    echo "FAIL: $name: no leak report in:"; sed 's/^/  | /' "$tmp/$name.leak"; failed=1
  fi
}

stage=$tmp/stage
if [[ " ${ways[*]} " == *" pkg-config "* || " ${ways[*]} " == *" cmake "* ]]; then
  step "install staged with meson install --destdir" "$tmp/install.log" \
    meson install -C "$build_root" --no-rebuild --destdir "$stage" || exit 1
  prefix=$(meson introspect "$build_root" --buildoptions |
           python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
  staged_prefix=$stage$prefix
fi

for way in "${ways[@]}"; do
  case $way in
    pkg-config)
      cp -r "$example" "$tmp/make"
      pc="pkg-config --define-variable=prefix=$staged_prefix"
      export PKG_CONFIG_PATH
      PKG_CONFIG_PATH=$(dirname "$(find "$stage" -name dbgalloc.pc | head -1)")
      step "pkg-config: make (static link-in, dbgalloc-static.pc)" "$tmp/make.log" \
        make -C "$tmp/make" PKG_CONFIG_DBGALLOC="$pc" word_count_test &&
        verify pkg-config-static "$tmp/make/word_count_test"
      step "pkg-config: make shared (libdbgalloc.so, dbgalloc.pc)" "$tmp/make-shared.log" \
        make -C "$tmp/make" PKG_CONFIG_DBGALLOC="$pc" word_count_test_shared &&
        verify pkg-config-shared "$tmp/make/word_count_test_shared"
      ;;
    cmake)
      step "cmake: configure with find_package(dbgalloc)" "$tmp/cmake.log" \
        cmake -S "$example" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$staged_prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        step "cmake: build" "$tmp/cmake-build.log" cmake --build "$tmp/cmake" -j 2 &&
        verify cmake "$tmp/cmake/word_count_test"
      ;;
    meson)
      # The example as a user has it, with this source tree as subprojects/dbgalloc
      # (what the wrap file would fetch). Only what the example needs is built.
      cp -r "$example" "$tmp/meson-src"
      rm -f "$tmp/meson-src/subprojects/dbgalloc.wrap"
      ln -s "$source_root" "$tmp/meson-src/subprojects/dbgalloc"
      step "meson: setup with dbgalloc as a subproject" "$tmp/meson.log" \
        meson setup "$tmp/meson" "$tmp/meson-src" -Ddbgalloc:tests=disabled --pkg-config-path="$tmp/none" &&
        step "meson: compile" "$tmp/meson-build.log" meson compile -C "$tmp/meson" -j 2 word_count_test &&
        verify meson "$tmp/meson/word_count_test"
      ;;
    *) echo "unknown way $way"; failed=1 ;;
  esac
done
exit $failed
