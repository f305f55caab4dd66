#!/usr/bin/env python3
"""os_calls_test.py SRC_DIR

Only src/platform/ talks to the kernel or the dynamic loader (docs/design.md): no file
elsewhere under SRC_DIR calls a system call, its libc wrapper, or a loader function.
Calls are found by name with comments and literals blanked. Not counted: member calls
(`x.read(`, `p->close(`), names qualified by a namespace or class of ours
(`platform::open_for_reading(`), and a name the same file declares as a function of its
own (`std::size_t read(...)` in a class, then `read(begin, want)`), unless written
`::read(` or `std::read(`.

Before scanning it checks itself on planted sources, so a scanner that finds nothing
fails.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from source_scan import read_code, source_files, strip_comments_and_strings  # noqa: E402

OS_CALLS = '''
    mmap mmap64 munmap mprotect madvise mremap msync mlock munlock mincore brk sbrk memfd_create
    process_vm_readv process_vm_writev
    open open64 openat creat read pread pread64 readv write pwrite pwrite64 writev close lseek
    fstat stat lstat fstatat statx readlink readlinkat getdents64 opendir readdir closedir
    unlink rename mkdir ftruncate fsync fcntl ioctl isatty dup dup2 dup3 pipe pipe2 socket
    fopen fdopen freopen
    sigaction signal sigaltstack sigprocmask pthread_sigmask raise kill tgkill pthread_kill sigqueue
    sigemptyset sigfillset sigaddset sigdelset
    fork vfork clone execve execv execvp execvpe execl execlp execle posix_spawn posix_spawnp
    wait waitpid wait3 wait4 waitid system popen
    exit _exit _Exit abort atexit pthread_atfork
    getpid gettid getppid getuid geteuid getgid getegid prctl ptrace personality getrlimit setrlimit
    syscall getauxval sysconf getpagesize getrandom getentropy getenv secure_getenv
    sched_yield sched_getaffinity
    clock_gettime clock_getres clock_nanosleep gettimeofday time nanosleep usleep sleep
    pthread_key_create pthread_key_delete pthread_setspecific pthread_getspecific
    pthread_getattr_np pthread_attr_getstack
    dl_iterate_phdr dladdr dladdr1 dlsym dlvsym dlopen dlclose dlerror dlinfo _dl_find_object
'''.split()

_NAMES = '|'.join(sorted(OS_CALLS, key=len, reverse=True))
# A call: the name, then '('; `qualifier` is what is written right before it.
_CALL = re.compile(r'(?P<qualifier>(?:[\w>)\]]\s*(?:\.|->)|\w+\s*::|::)?)\s*\b(?P<name>' + _NAMES + r')\s*\(')
# A declaration of a function of the file's own: a type (or `~`-less return type) right
# before the name, as in `std::size_t read(` or `bool open(`; keywords are not types.
_KEYWORDS = {'return', 'else', 'case', 'throw', 'new', 'delete', 'co_return', 'co_await', 'sizeof', 'do'}
_DECLARATION = re.compile(r'(?P<type>[\w:>*&]+)\s+[*&]*\s*(?P<name>' + _NAMES + r')\s*\(')


def own_functions(code):
    """Names of OS_CALLS the code declares as functions of its own."""
    names = set()
    for match in _DECLARATION.finditer(code):
        last_word = re.findall(r'\w+', match.group('type'))
        if last_word and last_word[-1] not in _KEYWORDS:
            names.add(match.group('name'))
    return names


def os_calls(code):
    """(line, name) of each OS call in code (comments and literals already blanked)."""
    own = own_functions(code)
    found = []
    for match in _CALL.finditer(code):
        qualifier = re.sub(r'\s', '', match.group('qualifier'))
        name = match.group('name')
        if qualifier.endswith('.') or qualifier.endswith('->'):
            continue  # a member of an object
        if qualifier.endswith('::') and qualifier not in ('::', 'std::'):
            continue  # a function of ours (platform::..., Class::...)
        if qualifier == '' and name in own:
            continue
        line = code.count('\n', 0, match.start('name')) + 1
        found.append((line, name))
    return found


PLANTED = [
    # (source, calls expected)
    ('void f() { int fd = open("/proc/self/maps", 0); ::close(fd); }', ['open', 'close']),
    ('void f() { char* e = std::getenv("X"); }', ['getenv']),
    ('void f() { void* p = mmap (nullptr, 4096, 3, 34, -1, 0); }', ['mmap']),
    ('auto g = [] { return dlsym(RTLD_NEXT, "malloc"); };', ['dlsym']),
    ('// mmap(nullptr, n) in a comment\n/* and sigaction(SIGSEGV, &a, 0) */ const char* s = "write(2, ...)";', []),
    ('void f(Reader& r, Reader* p) { r.read(a, n); p->close(); platform::open_for_reading(x); }', []),
    ('struct Reader { std::size_t read(std::uintptr_t a, std::size_t n); void g() { read(a, 8); } };', []),
    ('struct Reader { bool read(int); void g() { ::read(0, b, 1); } };', ['read']),
    ('int x = 1\'000\'000; void f() { raise(SIGSEGV); }', ['raise']),
    ('void f() { return_value = wait(nullptr); }', ['wait']),
    ('int thread_ready(); void f() { if (x) return thread_ready(); }', []),
]


def check_scanner():
    ok = True
    for source, expected in PLANTED:
        got = [name for _, name in os_calls(strip_comments_and_strings(source))]
        if got != expected:
            print(f'scanner self-check: {source!r}: found {got}, expected {expected}')
            ok = False
    return ok


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    src = os.path.abspath(sys.argv[1])
    if not check_scanner():
        return 1
    platform = os.path.join(src, 'platform') + os.sep
    files = [path for path in source_files(src) if not path.startswith(platform)]
    if not files:
        print(f'no sources under {src}')
        return 1
    failures = []
    for path in files:
        for line, name in os_calls(read_code(path)):
            failures.append(f'{os.path.relpath(path, os.path.dirname(src))}:{line}: {name}()')
    if failures:
        print('calls to the kernel or loader outside src/platform/ (put them behind a platform function):')
        print('\n'.join(failures))
        return 1
    print(f'{len(files)} files outside src/platform/, no kernel or loader call')
    return 0


if __name__ == '__main__':
    sys.exit(main())
