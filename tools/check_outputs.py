#!/usr/bin/env python
"""Fail if a notebook has lost the outputs a reader without a kernel sees, or breaks the rule of hidden cells.

    python tools/check_outputs.py              # every notebook in nbs/
    python tools/check_outputs.py NOTEBOOK...  # only these files

A notebook fails (one line for it, exit status 1) when it is a chapter (`1*`, `2*`, index) with code cells but no
output at all (it was cleared, e.g. by `nbdev_clean --clear_all`), or when an explorer cell's output has no image/png (the static picture
`dflab.core.explorer` stores next to the live widget). An explorer cell is a cell that ends by showing the result
of a `..._explorer(...)`/`explorer(...)` call (directly, or through a name the cell assigned it to), or a cell
whose output is a widget's text representation (`Explorer(...)`, `VBox(...)`, ...). Pixels are not compared.
A notebook also fails when a hidden test cell (`#| hide`) shows a figure: a mechanics check's plot means nothing
to a reader, who sees it in JupyterLab and on the repository page all the same; and when an output holds a
frozen progress bar (a notebook progress bar is a widget: the file keeps only its first state, e.g. "0%").
Refresh the outputs with `python tools/run_notebooks.py NAME`.

The rule of hidden cells: a learner who skips every hidden cell runs the chapter the same way. So a visible cell
may not use a name that only a hidden cell bound, and a hidden cell may not rebind a name a visible cell bound
(at the notebook's top level: function locals and loop variables inside functions are the function's own).
"""
import ast, builtins, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
WIDGET_REPR = re.compile(r'^(Explorer|VBox|HBox|Box|GridBox|Output|Tab|Accordion|\w+Slider|Dropdown)\(')


FROZEN_BAR = re.compile(r'\d+%\|')   # a tqdm bar: as display data, a widget the file keeps in its first state


def all_notebooks(): return sorted(NBS.glob('*.ipynb'))


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


def output_text(o): return text(o.get('data', {}).get('text/plain', '')) if 'data' in o else text(o.get('text', ''))


def is_hidden(source): return source.startswith('#| hide')


def parse(source):
    "The cell's syntax tree (IPython magics and shell lines dropped), or None."
    try: return ast.parse('\n'.join(l for l in source.splitlines() if not l.lstrip().startswith(('%', '!'))))
    except SyntaxError: return None


def top_level_names(tree) -> set:
    "Names a cell binds at the notebook's top level (not inside the functions and classes it defines)."
    out = set()
    def store(t): out.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    def visit(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): out.add(s.name)
            elif isinstance(s, (ast.Import, ast.ImportFrom)): out.update((a.asname or a.name).split('.')[0] for a in s.names)
            elif isinstance(s, ast.Assign): [store(t) for t in s.targets]
            elif isinstance(s, (ast.AugAssign, ast.AnnAssign)): store(s.target)
            elif isinstance(s, (ast.For, ast.AsyncFor)): store(s.target); visit(s.body); visit(s.orelse)
            elif isinstance(s, (ast.With, ast.AsyncWith)):
                [store(i.optional_vars) for i in s.items if i.optional_vars is not None]; visit(s.body)
            elif isinstance(s, (ast.If, ast.While)): visit(s.body); visit(s.orelse)
            elif isinstance(s, ast.Try):
                visit(s.body); visit(s.orelse); visit(s.finalbody)
                for h in s.handlers: out.update([h.name] if h.name else []); visit(h.body)
            if isinstance(s, ast.Expr): out.update(n.target.id for n in ast.walk(s) if isinstance(n, ast.NamedExpr))
    visit(tree.body)
    return out


def free_names(tree) -> set:
    "Names a cell reads but binds nowhere in itself (not as a local, argument or comprehension variable either)."
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    own |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - own


def hidden_cell_problems(code) -> list:
    "Where the notebook's code cells `[(index, cell)]` break the rule of hidden cells."
    visible, hidden_only, problems = set(dir(builtins)), {}, []
    for i, c in code:
        source = text(c['source'])
        tree = parse(source)
        if tree is None: continue
        bound = top_level_names(tree)
        if is_hidden(source):
            rebound = sorted(n for n in bound & visible if not n.startswith('_') and n not in dir(builtins))
            if rebound: problems.append(f'hidden cell {i + 1} rebinds {", ".join(rebound)}, which a visible cell bound')
            for n in bound - visible: hidden_only.setdefault(n, i)
        else:
            problems += [f'cell {i + 1} uses {n}, which only hidden cell {hidden_only[n] + 1} binds'
                         for n in sorted(free_names(tree) - visible - bound) if n in hidden_only]
            visible |= bound
    return problems


def notebook_problem(path):
    "One line describing what `path` lost, or None."
    import json
    nb = json.loads(path.read_text())
    code = [(i, c) for i, c in enumerate(nb['cells']) if c['cell_type'] == 'code' and text(c['source']).strip()]
    chapter = path.name[0] in '12' or path.name == 'index.ipynb'     # the toolbox notebooks may show nothing at all
    if chapter and code and not any(c.get('outputs') for _, c in code):
        return f'{path.name}: no outputs at all ({len(code)} code cells); re-run it with tools/run_notebooks.py'
    bad = []
    for i, c in code:
        outputs, source = c.get('outputs', []), text(c['source'])
        if (shows_explorer(source) or shows_widget_text(outputs)) and not has_png(outputs):
            first = next((l for l in source.splitlines() if l.strip() and not l.startswith('#|')), '')
            bad.append(f'cell {i + 1} ({first[:50]!r})')
    if bad: return f'{path.name}: explorer output without its image/png in ' + ', '.join(bad)
    hidden = [f'cell {i + 1}' for i, c in code if is_hidden(text(c['source'])) and has_png(c.get('outputs', []))]
    if hidden: return f'{path.name}: a figure in a hidden test cell (close it there: plt.close(fig)) in ' + ', '.join(hidden)
    frozen = [f'cell {i + 1}' for i, c in code if any(o['output_type'] in ('display_data', 'execute_result')
                                                      and FROZEN_BAR.search(output_text(o)) for o in c.get('outputs', []))]
    if frozen: return f'{path.name}: a progress bar frozen in its first state in ' + ', '.join(frozen)
    rule = hidden_cell_problems(code)
    if rule: return f'{path.name}: ' + '; '.join(rule)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ('-h', '--help'): print(__doc__); return 0
    paths = [Path(a) for a in args] or all_notebooks()
    found = [p for p in map(notebook_problem, paths) if p]
    for line in found: print(line)
    print(f'check_outputs: {len(paths) - len(found)} of {len(paths)} notebooks keep their outputs')
    return 1 if found else 0


if __name__ == '__main__': sys.exit(main())
