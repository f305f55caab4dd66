#!/usr/bin/env bash
# Integration workload for git under dbgalloc, run in an empty working directory:
# init, commits with fixed identities and dates, branches, a merge, log, diff, show,
# blame, grep, archive, gc and fsck. Every output is deterministic.
set -euo pipefail

export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME='Ada Lovelace' GIT_AUTHOR_EMAIL=ada@example.invalid
export GIT_COMMITTER_NAME='Ada Lovelace' GIT_COMMITTER_EMAIL=ada@example.invalid
export GIT_PAGER=cat PAGER=cat
tick=1700000000
commit() {
  tick=$((tick + 3600))
  GIT_AUTHOR_DATE="@$tick +0000" GIT_COMMITTER_DATE="@$tick +0000" git commit -q "$@"
}

git init -q -b main repo
cd repo
git config user.name 'Ada Lovelace'
git config user.email ada@example.invalid
git config core.autocrlf false

mkdir -p src docs
for i in $(seq 1 40); do
  { for j in $(seq 1 $((i * 5))); do echo "line $j of file $i: $((i * j % 97))"; done; } > "src/file$i.txt"
done
printf '# Title\n\nSome text.\n' > docs/readme.md
git add .
commit -m 'initial import'

sed -i 's/: 1$/: one/' src/file*.txt
echo 'more text' >> docs/readme.md
git add -A
commit -m 'spell out ones'

git checkout -q -b feature
for i in $(seq 41 60); do seq 1 $i > "src/count$i.txt"; done
git rm -q src/file3.txt
git add -A
commit -m 'add counts, drop file3'

git checkout -q main
echo 'main-only change' >> src/file1.txt
commit -a -m 'main change'
tick=$((tick + 3600))
GIT_AUTHOR_DATE="@$tick +0000" GIT_COMMITTER_DATE="@$tick +0000" \
  git merge -q --no-ff -m 'merge feature' feature

echo '== log'
git log --graph --format='%H %an %ad %s' --date=iso-strict
echo '== log --stat'
git log --stat --format='%h %s' -3
echo '== diff'
git diff HEAD~3 HEAD -- src/file1.txt src/file2.txt docs
echo '== diff --stat'
git diff --stat HEAD~3 HEAD
echo '== show'
git show --format=fuller HEAD~1 -- src/file1.txt
echo '== blame'
git blame -s docs/readme.md
echo '== grep'
git grep -c 'of file 1' HEAD
echo '== archive'
git archive --format=tar HEAD | cksum
echo '== ls-tree'
git ls-tree -r HEAD | head -n 20
echo '== rev-list'
git rev-list --all --count
git gc -q
git fsck --no-progress
git count-objects -v | grep -E '^(count|in-pack|garbage)'
echo 'git: done'
