#!/usr/bin/env python3
"""layers_test.py ROOT

Includes point down the layers: every `#include "..."` in ROOT/src and ROOT/include names
a file of the including file's own layer or of a layer below it. The order is the
layers table of ROOT/docs/design.md (bottom row first), the one place it is written;
each row names its folder (`src/debug/`, `include/dbgalloc/`). An include that names no
layer's folder, and a folder of src/ that is not in the table, fail too, so a new layer
is placed in the table before it is used. A layer's `internal.hpp` (what its own units
share: debug/internal.hpp) is included from that layer only.

Before scanning, it checks itself on a planted tree with one include from a lower layer
to a higher one, so a checker that finds nothing fails.
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
ROW = re.compile(r'^\|\s*([\w -]+?)\s*\|\s*`((?:src|include)/[\w/]+?)/?`\s*\|')
SOURCE_SUFFIXES = ('.cpp', '.hpp', '.h', '.inc')


def read_layers(design_md):
    """[(name, folder)] from the table under '## Layers', bottom layer first."""
    layers, in_section = [], False
    with open(design_md, encoding='utf-8') as f:
        for line in f:
            if line.startswith('## '):
                in_section = line.strip() == '## Layers'
                continue
            match = ROW.match(line) if in_section else None
            if match:
                layers.append((match.group(1), match.group(2)))
    return layers


def layer_of_include(path, layers):
    """Index of the layer whose folder holds `path` (as written after #include)."""
    for index, (_, folder) in enumerate(layers):
        prefix = folder.split('/', 1)[1] + '/'  # src/debug -> debug/, include/dbgalloc -> dbgalloc/
        if path.startswith(prefix):
            return index
    return None


def layer_of_file(relative, layers):
    for index, (_, folder) in enumerate(layers):
        if relative.startswith(folder + '/'):
            return index
    return None


def check(root, layers):
    """Problems found under root, one line each."""
    problems = []
    if not layers:
        return ['docs/design.md: no layers table under "## Layers"']
    src = os.path.join(root, 'src')
    for name in sorted(os.listdir(src)):
        folder = os.path.join(src, name)
        if os.path.isdir(folder) and layer_of_file(f'src/{name}/x', layers) is None:
            problems.append(f'src/{name}/: not in the layers table of docs/design.md')
    for top in ('src', 'include'):
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, root)
                own = layer_of_file(relative, layers)
                if own is None:
                    continue  # reported above as a folder missing from the table
                with open(path, encoding='utf-8') as f:
                    for number, line in enumerate(f, 1):
                        match = INCLUDE.match(line)
                        if not match:
                            continue
                        target = layer_of_include(match.group(1), layers)
                        where = f'{relative}:{number}: #include "{match.group(1)}"'
                        if target is None:
                            problems.append(f'{where}: names no layer\'s folder (write the path from src/ or include/)')
                        elif target > own:
                            problems.append(f'{where}: {layers[own][0]} may not include {layers[target][0]}, '
                                            f'a layer above it')
                        elif target != own and os.path.basename(match.group(1)) == 'internal.hpp':
                            problems.append(f'{where}: {layers[target][0]}\'s internal.hpp is for its own files')
    return problems


def plant(root, files, table):
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    os.makedirs(os.path.join(root, 'docs'), exist_ok=True)
    with open(os.path.join(root, 'docs', 'design.md'), 'w', encoding='utf-8') as f:
        f.write('# Design\n\n## Layers\n\n| layer | folder | what |\n| --- | --- | --- |\n')
        for name, folder in table:
            f.write(f'| {name} | `{folder}/` | the {name} |\n')
        f.write('\n## Next\n\n| other | `src/other/` | not a layer row |\n')


def self_test():
    """The checker finds a planted upward include and accepts downward ones."""
    table = [('api', 'include/pub'), ('low', 'src/low'), ('high', 'src/high')]
    files = {
        'include/pub/pub.h': '#pragma once\n',
        'src/low/low.hpp': '#pragma once\n#include "pub/pub.h"\n#include "low/other.hpp"\n',
        'src/low/other.hpp': '#pragma once\n',
        'src/low/internal.hpp': '#pragma once\n',
        'src/low/low.cpp': '#include "low/internal.hpp"\n',
        'src/high/high.cpp': '#include "low/low.hpp"\n#include "high/high.hpp"\n#include <vector>\n',
        'src/high/high.hpp': '#pragma once\n',
    }
    with tempfile.TemporaryDirectory() as root:
        plant(root, files, table)
        layers = read_layers(os.path.join(root, 'docs', 'design.md'))
        assert layers == table, f'self-test: table read as {layers}'
        clean = check(root, layers)
        assert clean == [], f'self-test: downward includes reported: {clean}'
    bad = dict(files)
    bad['src/low/low.cpp'] = '// a comment\n#include "high/high.hpp"\n'
    bad['src/high/peek.cpp'] = '#include "low/internal.hpp"\n'
    bad['src/extra/x.cpp'] = '#include "nowhere.hpp"\n'
    with tempfile.TemporaryDirectory() as root:
        plant(root, bad, table)
        found = check(root, read_layers(os.path.join(root, 'docs', 'design.md')))
        expected = ['src/extra/: not in the layers table of docs/design.md',
                    'src/high/peek.cpp:1: #include "low/internal.hpp": low\'s internal.hpp is for its own files',
                    'src/low/low.cpp:2: #include "high/high.hpp": low may not include high, a layer above it']
        assert found == expected, f'self-test: expected {expected}, found {found}'


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    self_test()
    layers = read_layers(os.path.join(root, 'docs', 'design.md'))
    problems = check(root, layers)
    for problem in problems:
        print(problem)
    order = ' < '.join(name for name, _ in layers)
    if problems:
        print(f'{len(problems)} problem(s) with the layers, whose order is {order}')
        return 1
    print(f'every include points down the layer order {order}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
