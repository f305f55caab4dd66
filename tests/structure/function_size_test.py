#!/usr/bin/env python3
"""function_size_test.py SRC_DIR [--max-lines N] [--list]

No function in SRC_DIR is longer than N lines (80): from the first line of its
declaration to its closing brace, comments and blank lines included (a reader holds
what is on the page). A lambda or local class counts in the function that holds it.

The scanner matches braces in the code with comments, literals and preprocessor lines
blanked; at namespace and class scope a '{' opens a function body when the declaration
before it ends in a parameter list (with qualifiers, a trailing return type or a
constructor's initialiser list); other braces there are classes, namespaces, enums or
initialisers. It checks itself first on planted sources. --list prints every function
with its length, longest first.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from source_scan import source_files, strip_comments_and_strings  # noqa: E402

MAX_LINES = 80

_SCOPE_WORD = re.compile(r'\b(namespace|class|struct|union|enum)\b')
_EXTERN_C = re.compile(r'\bextern\s+"\s*"\s*$')
# What may follow a function's parameter list before its body.
_TRAILER = re.compile(
    r'\)\s*(?:(?:const|volatile|noexcept\s*(?:\([^()]*\))?|override|final|mutable|&&|&|'
    r'->\s*[\w:<>,\s*&]+?|requires\b[^{;]*?)\s*)*$')
_NAME = re.compile(r'((?:operator\s*(?:\(\)|\[\]|[^\s(]+)|~?\w+(?:\s*<[^<>()]*>)?)(?:\s*::\s*(?:operator\s*[^\s(]+|~?\w+))*)\s*$')


def blank_preprocessor(code):
    """Preprocessor lines (and their continuations) blanked, newlines kept."""
    out = []
    continued = False
    for line in code.split('\n'):
        if continued or line.lstrip().startswith('#'):
            continued = line.rstrip().endswith('\\')
            out.append('')
        else:
            out.append(line)
    return '\n'.join(out)


def matching_brace(code, open_at):
    depth = 0
    for i in range(open_at, len(code)):
        c = code[i]
        if c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                return i
    return len(code) - 1


def parameter_list_end(header):
    """(index of the ')' closing the declaration's parameter list, whether a
    constructor's initialiser list (': a_(1), b_{2}') follows it) when the header (the
    text before a '{' since the previous ';', '{' or '}') declares a function; else
    (-1, False)."""
    depth = 0
    last_close = -1
    for i, c in enumerate(header):
        if c in '([':
            depth += 1
        elif c in ')]':
            depth -= 1
            if depth == 0 and c == ')':
                last_close = i
        elif c == ':' and depth == 0 and last_close >= 0 and header[i - 1] != ':' and \
                (i + 1 >= len(header) or header[i + 1] != ':'):
            if _TRAILER.search(header[:i].rstrip()):
                return last_close, True
    if last_close >= 0 and _TRAILER.search(header.rstrip()):
        return last_close, False
    return -1, False


def function_name(header, close):
    depth = 0
    for i in range(close, -1, -1):
        if header[i] == ')':
            depth += 1
        elif header[i] == '(':
            depth -= 1
            if depth == 0:
                match = _NAME.search(header[:i])
                return re.sub(r'\s+', '', match.group(1)) if match else '?'
    return '?'


def body_open(code, start):
    """The '{' of a body whose declaration starts at `start`: the first '{' at paren
    depth 0 not right after a name (b_{2} in an initialiser list is not a body)."""
    depth = 0
    i = start
    while i < len(code):
        c = code[i]
        if c == '(':
            depth += 1
        elif c == ')':
            depth -= 1
        elif c == '{' and depth == 0:
            before = code[start:i].rstrip()
            if not before or not (before[-1].isalnum() or before[-1] == '_' or before[-1] == '>'):
                return i
            i = matching_brace(code, i)
        i += 1
    return -1


def functions(code):
    """(name, first line, last line) of each function at namespace or class scope."""
    code = blank_preprocessor(code)
    found = []
    header_start = 0
    i = 0
    while i < len(code):
        c = code[i]
        if c in ';}':
            header_start = i + 1
        elif c == '{':
            header = code[header_start:i]
            stripped = header.strip()
            close, initialisers = parameter_list_end(header)
            declarator = re.sub(r'operator\s*[^\s(]+', 'operator', header[:close].split('(')[0])
            if close >= 0 and '=' not in declarator and not _SCOPE_WORD.match(stripped):
                opening = body_open(code, header_start + close + 1) if initialisers else i
                end = matching_brace(code, opening)
                first = header_start + len(header) - len(header.lstrip())
                found.append((function_name(header, close), code.count('\n', 0, first) + 1,
                              code.count('\n', 0, end) + 1))
                i = end
                header_start = i + 1
            elif _SCOPE_WORD.search(stripped) and '=' not in stripped or _EXTERN_C.search(stripped):
                header_start = i + 1  # a scope holding declarations: look inside
            else:
                i = matching_brace(code, i)  # an initialiser, an enum's values
                header_start = i + 1
        i += 1
    return found


PLANTED = '''
namespace a {
namespace {
constexpr int kTable[] = {1, 2, 3};
struct Point { int x{0}; int y = {1}; int sum() const { return x + y; } };
}  // namespace
template <typename T>
auto Thing<T>::get(int n) const noexcept -> T* {
  if (n) { return nullptr; }
  auto f = [](int k) { return k; };
  return f(n) ? nullptr : nullptr;
}
Widget::Widget(int n) : n_{n}, m_(n) {
  for (;;) { break; }
}
extern "C" {
void c_entry(void) {
  #define X {
}
}
enum class Kind : int { a, b };
bool operator==(const Point& l, const Point& r) { return l.x == r.x; }
}
'''
PLANTED_EXPECTED = [('sum', 5, 5), ('Thing<T>::get', 7, 12), ('Widget::Widget', 13, 15), ('c_entry', 17, 19),
                    ('operator==', 22, 22)]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    limit = MAX_LINES
    if '--max-lines' in sys.argv:
        limit = int(sys.argv[sys.argv.index('--max-lines') + 1])
        args = [a for a in args if a != str(limit)]
    if len(args) != 1:
        print(__doc__)
        return 2
    got = functions(strip_comments_and_strings(PLANTED))
    if got != PLANTED_EXPECTED:
        print(f'scanner self-check: found {got}, expected {PLANTED_EXPECTED}')
        return 1
    src = os.path.abspath(args[0])
    root = os.path.dirname(src)
    measured = []
    for path in source_files(src):
        with open(path, encoding='utf-8') as f:
            code = strip_comments_and_strings(f.read())
        for name, first, last in functions(code):
            measured.append((last - first + 1, f'{os.path.relpath(path, root)}:{first}', name))
    measured.sort(reverse=True)
    if '--list' in sys.argv:
        for lines, where, name in measured:
            print(f'{lines:5} {where} {name}')
    if len(measured) < 100:
        print(f'only {len(measured)} functions found under {src}: the scanner is broken')
        return 1
    too_long = [m for m in measured if m[0] > limit]
    for lines, where, name in too_long:
        print(f'{where}: {name} is {lines} lines (at most {limit}): split it where the pieces have names')
    if too_long:
        return 1
    print(f'{len(measured)} functions, the longest {measured[0][0]} lines ({measured[0][2]}), none over {limit}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
