"""Reading dbgalloc's C++ sources as code: comments, string and character literals
blanked (newlines kept, so line numbers stay right). Shared by the structure tests."""
import os
import re

SOURCE_SUFFIXES = ('.cpp', '.hpp', '.h', '.cc', '.inc')

_TOKEN = re.compile(r'''
    (?P<line>//[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<raw>R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)")
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])+')
''', re.S | re.X)


def _blank(text):
    return re.sub(r'[^\n]', ' ', text)


def strip_comments_and_strings(text):
    """The text with every comment and literal replaced by spaces (quotes kept for
    literals, so `f("x")` stays a call with one argument)."""
    def replace(match):
        whole = match.group(0)
        if match.group('line') or match.group('block'):
            return _blank(whole)
        if match.group('char') and re.match(r"'\w", whole) and whole[1:-1].isdigit():
            return whole  # 1'000 digit separators are not literals
        return whole[0] + _blank(whole[1:-1]) + whole[-1]
    return _TOKEN.sub(replace, text)


def source_files(root):
    """Every C++ source under root, sorted, as paths relative to root's parent."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(SOURCE_SUFFIXES):
                found.append(os.path.join(folder, name))
    return sorted(found)


def read_code(path):
    with open(path, encoding='utf-8') as f:
        return strip_comments_and_strings(f.read())
