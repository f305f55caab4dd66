#!/usr/bin/env bash
# compare_programs.sh LIBDBGALLOC_SO -- COMMAND [ARGS...]
#
# Leak totals of a real program under dbgalloc and under valgrind memcheck, summed over
# every process it runs (exec'd children included; forked children that do not exec
# are left out of both: leak_check_children=0 and --child-silent-after-fork=yes).
# Prints one line:
#   dbgalloc definite B/N indirect B/N | valgrind definite B/N indirect B/N
# Slow (valgrind); not part of the test suites. Each run gets its own empty directory.
set -uo pipefail
lib=$(readlink -f "${1:?usage: compare_programs.sh LIB -- COMMAND...}")
shift
[ "${1:-}" = -- ] && shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dbgalloc-leakcmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/ours" "$tmp/theirs" "$tmp/logs"
export LC_ALL=C TZ=UTC

(cd "$tmp/ours" && LD_PRELOAD=$lib DBGALLOC_OPTIONS="verbosity=1:exitcode=0:leak_check_children=0:log_path=$tmp/logs/dbgalloc" \
   "$@" > /dev/null 2> "$tmp/logs/ours.stderr")
(cd "$tmp/theirs" && valgrind --leak-check=full --show-leak-kinds=definite,indirect --trace-children=yes \
   --child-silent-after-fork=yes --log-file="$tmp/logs/valgrind.%p" "$@" > /dev/null 2>&1)

# Sums "<label> X byte(s)|bytes in N block(s)|blocks" over files.
sum() {
  local label=$1
  shift
  cat "$@" 2>/dev/null | grep -o "$label *[0-9,]* bytes\? *\(([a-z]*)\)\? *in *[0-9,]* block" |
    sed 's/,//g' | awk '{ for (i = 1; i <= NF; ++i) if ($i ~ /^[0-9]+$/) { if (!b) { b = 1; bytes += $i } else { blocks += $i; b = 0 } } }
      END { printf "%d B/%d", bytes, blocks }'
}
ours_files=("$tmp"/logs/dbgalloc.*)
theirs_files=("$tmp"/logs/valgrind.*)
echo "dbgalloc definite $(sum 'definitely lost:' "${ours_files[@]}") indirect $(sum 'indirectly lost:' "${ours_files[@]}")" \
     "| valgrind definite $(sum 'definitely lost:' "${theirs_files[@]}") indirect $(sum 'indirectly lost:' "${theirs_files[@]}")" \
     "| processes: dbgalloc ${#ours_files[@]}, valgrind ${#theirs_files[@]}"
if [ -n "${KEEP_LOGS:-}" ]; then cp -r "$tmp/logs" "$KEEP_LOGS"; fi
