#!/usr/bin/env python
"""Fail if a chapter notebook has lost the outputs a reader without a kernel sees.

    python tools/check_outputs.py              # nbs/1*.ipynb, nbs/2*.ipynb and nbs/index.ipynb
    python tools/check_outputs.py NOTEBOOK...  # only these files

A notebook fails (one line for it, exit status 1) when it has code cells but no output at all (it was cleared, e.g.
by `nbdev_clean --clear_all`), or when an explorer cell's output has no image/png (the static picture
`dflab.core.explorer` stores next to the live widget). An explorer cell is a cell that ends by showing the result
of a `..._explorer(...)`/`explorer(...)` call (directly, or through a name the cell assigned it to), or a cell
whose output is a widget's text representation (`Explorer(...)`, `VBox(...)`, ...). Pixels are not compared.
A notebook also fails when a hidden test cell (`#| hide`) shows a figure: a mechanics check's plot means nothing
to a reader, who sees it in JupyterLab and on the repository page all the same.
Refresh the outputs with `python tools/run_notebooks.py NAME`.
"""
import ast, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
WIDGET_REPR = re.compile(r'^(Explorer|VBox|HBox|Box|GridBox|Output|Tab|Accordion|\w+Slider|Dropdown)\(')


def chapter_notebooks():
    return sorted(NBS.glob('1*.ipynb')) + sorted(NBS.glob('2*.ipynb')) + [NBS / 'index.ipynb']


def text(x): return ''.join(x) if isinstance(x, list) else x


def shows_explorer(source):
    "Does this cell's last statement show an explorer (`f_explorer(...)`, or a name the cell bound to one)?"
    code = '\n'.join(l for l in source.splitlines() if not l.lstrip().startswith(('%', '!')))
    try: body = ast.parse(code).body
    except SyntaxError: return bool(re.search(r'explorer\(', source.strip().splitlines()[-1] if source.strip() else ''))
    if not body or not isinstance(body[-1], ast.Expr): return False
    def is_explorer_call(node):
        if not isinstance(node, ast.Call): return False
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ''
        return name.endswith('explorer')
    last = body[-1].value
    if is_explorer_call(last): return True
    if isinstance(last, ast.Name):
        return any(isinstance(s, ast.Assign) and is_explorer_call(s.value)
                   and any(isinstance(t, ast.Name) and t.id == last.id for t in s.targets) for s in body)
    return False


def shows_widget_text(outputs):
    return any(WIDGET_REPR.match(text(o.get('data', {}).get('text/plain', ''))) for o in outputs)


def has_png(outputs): return any('image/png' in o.get('data', {}) for o in outputs)


def notebook_problem(path):
    "One line describing what `path` lost, or None."
    import json
    nb = json.loads(path.read_text())
    code = [(i, c) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code' and text(c['source']).strip()]
    if code and not any(c.get('outputs') for _, c in code):
        return f'{path.name}: no outputs at all ({len(code)} code cells); re-run it with tools/run_notebooks.py'
    bad = []
    for i, c in code:
        outputs, source = c.get('outputs', []), text(c['source'])
        if (shows_explorer(source) or shows_widget_text(outputs)) and not has_png(outputs):
            first = next((l for l in source.splitlines() if l.strip() and not l.startswith('#|')), '')
            bad.append(f'cell {i + 1} ({first[:50]!r})')
    if bad: return f'{path.name}: explorer output without its image/png in ' + ', '.join(bad)
    hidden = [f'cell {i + 1}' for i, c in code if text(c['source']).startswith('#| hide') and has_png(c.get('outputs', []))]
    if hidden: return f'{path.name}: a figure in a hidden test cell (close it there: plt.close(fig)) in ' + ', '.join(hidden)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ('-h', '--help'): print(__doc__); return 0
    paths = [Path(a) for a in args] or chapter_notebooks()
    found = [p for p in map(notebook_problem, paths) if p]
    for line in found: print(line)
    print(f'check_outputs: {len(paths) - len(found)} of {len(paths)} notebooks keep their outputs')
    return 1 if found else 0


if __name__ == '__main__': sys.exit(main())
