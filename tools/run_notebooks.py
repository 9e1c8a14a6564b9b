#!/usr/bin/env python
"""Re-execute dflab's notebooks the way a learner's "Run All" does, and store their outputs cleanly.

    python tools/run_notebooks.py                       # every nbs/*.ipynb, in place
    python tools/run_notebooks.py 14_loop 23_diffedit   # only these (a name, NAME.ipynb or nbs/NAME.ipynb)
    python tools/run_notebooks.py --threads 1 14_loop   # OMP_NUM_THREADS=1 in the kernel
    python tools/run_notebooks.py --out /tmp/x 00_core  # write the executed copies (and run_times.json) to /tmp/x
    python tools/run_notebooks.py --check               # execute, write nothing: errors, paths, times only
    python tools/run_notebooks.py --recompute which_edit 25_which_edit   # re-measure a stored result, then re-run

Every cell runs (nbdev's `gpu`/`slow` flags do not apply: Run All ignores them), top to bottom, in a fresh
`python3` kernel whose working directory is nbs/, with HF_HUB_OFFLINE=1, PYTHONHASHSEED=0, MPLBACKEND unset
(the inline backend) and DFLAB_MODEL unset (dflab-tiny, what the committed outputs show) unless --model is given.
Each cell has a time limit (`--timeout`); a notebook whose cell runs past it is run once more from the start, and
fails if it times out again. The client waits for the kernel's messages in one-second polls: pyzmq's asyncio poll
can miss a wakeup (seen after widget cells), and a single long wait then only notices the kernel's reply when it
times out — a silent stall of the whole cell time limit.

After a successful run each notebook is post-processed so the stored file is deterministic:
figures, tables and text outputs are kept; the live-widget mimetype (application/vnd.jupyter.widget-view+json,
whose model ids change every run) and the widget state are removed, so what remains of an explorer is the static
image/png that `dflab.core.explorer` puts in its display data; a cell's stream outputs are merged into one stdout
and one stderr (with \\r and \\b applied, so their split does not depend on timing); execution timing metadata
is dropped; then `nbdev_clean` runs on the file.

The command FAILS (exit status 1, one line per problem naming the notebook and the cell) when an output shows
an error (an error output, or a traceback printed on a stream) or contains an absolute machine path: the
repository's path, the Python installation's, /tmp/, /root, /home/. A path printed by a warning must be fixed
in the cell (e.g. silence that warning category or pass a relative path), not hidden by this tool. A failing
notebook is not written.

Each notebook's wall-clock execution time (kernel start to last cell, in seconds) is recorded in
nbs/run_times.json (or OUT/run_times.json with --out), together with the core count, OMP_NUM_THREADS as the
kernel saw it ("default" when unset) and whether a GPU was visible; the README renders that file. A failing
notebook's time is not recorded, nor the times of a run with --recompute (which sets DFLAB_RECOMPUTE for the
kernel, so `dflab.course.measured` measures the named stored results again, or every one with `all` — once each:
DFLAB_RECOMPUTE_SINCE, the run's start, marks a result a previous chapter of the run stored as re-made; set it
yourself, e.g. DFLAB_RECOMPUTE_SINCE=$(date -d '2026-12-08 09:00' +%s), and an interrupted re-measurement resumes,
skipping every result stored since then). A failing cell does not stop a --recompute run: the chapter's later
results are still measured, and the failure is reported (and that notebook not written) as in any run.
"""
import argparse, json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
BINARY = ('image/png', 'image/jpeg', 'image/gif', 'image/webp')
TIMES = 'run_times.json'


def machine_paths():
    "Regex matching an absolute path that belongs to this machine (a relative path like runs/tmp/x does not)."
    prefixes = {str(ROOT), sys.prefix, sys.base_prefix, tempfile.gettempdir(), '/tmp', '/root', '/home'}
    prefixes = sorted((re.escape(p) for p in prefixes if len(p) > 1), key=len, reverse=True)
    return re.compile(rf'(?<![\w.~-])(?:{"|".join(prefixes)})(?![\w.-])')


def notebook_paths(names):
    "The notebooks named (NAME, NAME.ipynb, nbs/NAME.ipynb or a path), or every nbs/*.ipynb."
    if not names: return sorted(NBS.glob('*.ipynb'))
    paths = []
    for n in names:
        p = Path(n)
        candidates = [p, NBS / p.name, NBS / (p.name + '.ipynb')]
        found = next((c for c in candidates if c.suffix == '.ipynb' and c.is_file()), None)
        if found is None: sys.exit(f'run_notebooks: no notebook {n!r} (looked in {NBS.relative_to(ROOT)}/)')
        paths.append(found.resolve())
    return paths


def cell_name(nb_name, i, cell):
    "How a failure names a cell: notebook, 1-based position, first source line."
    first = next((l for l in cell.source.splitlines() if l.strip() and not l.startswith('#|')), '')
    return f'{nb_name} cell {i + 1} ({first[:60]!r})'


def output_texts(output):
    "The text of a stream or display output that a reader sees (binary images excluded)."
    if output.output_type == 'stream': yield output.text
    else:
        for mime, value in output.get('data', {}).items():
            if mime in BINARY or mime == WIDGET_VIEW: continue
            yield value if isinstance(value, str) else json.dumps(value)


_ANSI = re.compile(r'\x1b\[[0-9;]*m')

def problems(nb, nb_name, path_re):
    "One line per output that shows an error or an absolute machine path."
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code': continue
        for output in cell.get('outputs', []):
            where = cell_name(nb_name, i, cell)
            if output.output_type == 'error':
                found.append(f'{where}: error {output.ename}: {_ANSI.sub("", output.evalue)[:200]}')
                continue
            for text in output_texts(output):
                if output.output_type == 'stream' and 'Traceback (most recent call last)' in text:
                    found.append(f'{where}: a traceback on {output.name}')
                m = path_re.search(text)
                if m:
                    line = next(l for l in text[m.start():].splitlines() or [''])
                    before = text[:m.start()].rsplit('\n', 1)[-1]
                    found.append(f'{where}: output contains an absolute path: {(before + line).strip()[:200]!r}')
    return found


def strip_widgets(nb):
    "Remove live-widget views and widget state; keep every other output (an explorer's image/png stays)."
    nb.metadata.pop('widgets', None)
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        cell.metadata.pop('execution', None)
        outputs = []
        for o in cell.get('outputs', []):
            data = o.get('data')
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                o.get('metadata', {}).pop(WIDGET_VIEW, None)
                if not data: continue
            outputs.append(o)
        cell.outputs = outputs
    return nb


def polling(get_msg):
    "`get_msg` of a kernel-client channel, waiting in one-second polls (each poll re-checks the socket on timeout)."
    from queue import Empty
    async def get_msg_polling(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
            try: return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline: raise
    return get_msg_polling


def execute(path, timeout, keep_going=False):
    "Run every cell of `path` in a fresh kernel (cwd nbs/), past failing cells if `keep_going`: (notebook, seconds, error or None, timed out?)."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    nb = nbformat.read(path, as_version=4)
    started = [0]

    def poll_every_second(notebook):
        for channel in (client.kc.shell_channel, client.kc.iopub_channel): channel.get_msg = polling(channel.get_msg)

    client = NotebookClient(nb, kernel_name='python3', timeout=timeout, startup_timeout=120,
                            resources={'metadata': {'path': str(NBS)}}, allow_errors=keep_going,
                            record_timing=False, store_widget_state=True, coalesce_streams=True,
                            shutdown_kernel='immediate', extra_arguments=['--IPKernelApp.log_level=ERROR'],
                            on_cell_start=lambda cell, cell_index: started.__setitem__(0, cell_index),
                            on_notebook_start=poll_every_second)
    start = time.monotonic()
    error, timed_out = None, False
    try: client.execute()
    except CellTimeoutError: error, timed_out = f'ran past {timeout} s', True
    except DeadKernelError: error = 'the kernel died'
    except RuntimeError as e: error, timed_out = f'the kernel did not start ({e})', True   # startup_timeout
    except CellExecutionError: pass    # the error is in the cell's outputs, reported by `problems`
    if error: error = f'{cell_name(path.name, started[0], nb.cells[started[0]])}: {error}'
    return nb, time.monotonic() - start, error, timed_out


def run_one(path, timeout, path_re, keep_going=False):
    "Execute (retrying once after a timeout) and check one notebook: (notebook or None, seconds, problems)."
    for attempt in (1, 2):
        nb, seconds, error, timed_out = execute(path, timeout, keep_going)
        if not timed_out: break
        print(f'  {error} (attempt {attempt} of 2)', flush=True)
    if error is not None: return None, seconds, [error]
    found = problems(nb, path.name, path_re)
    return (None if found else strip_widgets(nb)), seconds, found


def write(nb, dest):
    "Write `nb` to `dest` and run nbdev_clean on it."
    import nbformat
    nbformat.write(nb, dest)
    subprocess.run(['nbdev_clean', '--fname', str(dest)], cwd=ROOT, check=True)


def record_times(file, times):
    "Merge `times` (notebook name → entry) into the JSON file `file`."
    data = json.loads(file.read_text()) if file.exists() else {}
    data.update(times)
    file.write_text(json.dumps(dict(sorted(data.items())), indent=1) + '\n')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every nbs/*.ipynb)')
    p.add_argument('--threads', type=int, help='OMP_NUM_THREADS for the kernel (default: as the environment sets)')
    p.add_argument('--model', help='DFLAB_MODEL for the kernel (default: unset, i.e. dflab-tiny, as committed)')
    p.add_argument('--timeout', type=int, default=600, help='seconds one cell may run (default 600)')
    p.add_argument('--out', type=Path, help='write executed notebooks (and run_times.json) here, not in nbs/')
    p.add_argument('--recompute', metavar='NAMES', default='',
                   help="stored results to measure again (comma-separated, or 'all'); the run's times are not recorded")
    p.add_argument('--check', action='store_true',
                   help='execute in memory only; report errors, paths and times (next to the recorded ones); '
                        'write nothing')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    paths = notebook_paths(args.notebooks)
    os.environ.update(HF_HUB_OFFLINE='1', PYTHONHASHSEED='0')
    if args.threads: os.environ['OMP_NUM_THREADS'] = str(args.threads)
    os.environ.pop('DFLAB_SKIP_LOG', None)
    os.environ['DFLAB_RECOMPUTE'] = args.recompute
    if args.recompute: os.environ.setdefault('DFLAB_RECOMPUTE_SINCE', str(time.time()))   # each result made once
    else: os.environ.pop('DFLAB_RECOMPUTE_SINCE', None)
    if args.model: os.environ['DFLAB_MODEL'] = args.model
    else: os.environ.pop('DFLAB_MODEL', None)
    os.environ.pop('MPLBACKEND', None)    # the kernel's inline backend, as in JupyterLab
    out = None if args.check else (args.out or NBS)
    if out: out.mkdir(parents=True, exist_ok=True)
    path_re, times, failures, failed = machine_paths(), {}, [], 0
    import torch
    entry = dict(cores=os.cpu_count(), threads=os.environ.get('OMP_NUM_THREADS', 'default'),
                 gpu=torch.cuda.is_available())
    recorded = json.loads((NBS / TIMES).read_text()) if (NBS / TIMES).exists() else {}
    for path in paths:
        nb, seconds, found = run_one(path, args.timeout, path_re, keep_going=bool(args.recompute))
        status = 'ok' if not found else f'FAILED ({len(found)} problem{"s" * (len(found) > 1)})'
        before = recorded.get(path.stem, {}).get('seconds')
        print(f'{path.name}: {status}, {seconds:.0f} s' + (f' (recorded: {before} s)' if before else ''), flush=True)
        failures += found
        failed += bool(found)
        if nb is None: continue
        times[path.stem] = dict(seconds=round(seconds), **entry)
        if out: write(nb, out / path.name)
        if out and not args.recompute:   # recorded at once: index.ipynb, run last, renders the times of the others
            record_times(out / TIMES, {path.stem: times[path.stem]})
    for line in failures: print(line)
    total = sum(t['seconds'] for t in times.values())
    print(f'run_notebooks: {len(paths) - failed} of {len(paths)} '
          f'notebooks ok, {total} s of execution' + ('' if out else ' (--check: nothing written)'))
    return 1 if failures else 0


if __name__ == '__main__': sys.exit(main())
