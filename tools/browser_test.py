#!/usr/bin/env python
"""Open chapters in a real JupyterLab with headless Chromium, Run All, and move an explorer's slider.

    python tools/browser_test.py                     # chapters 5 (14_loop), 10 (23_diffedit), 7b (20b_depth2img), 8b (21b_upscale)
    python tools/browser_test.py --only 14_loop      # one of them
    python tools/browser_test.py --disable-extension @jupyter-widgets/jupyterlab-manager   # must FAIL

What a learner does, checked: JupyterLab (from this venv, on 127.0.0.1, a random free port, a token, a fresh
config/settings/workspace folder so no dialog opens, autosave off) opens the notebook, the "Run > Run All Cells"
menu runs it; no cell may show an error (an error output, or a traceback on stderr); the explorer must render as a
live widget (its slider present; a `VBox(...)`/`Explorer(...)` text, the static PNG alone, or "Loading widget..."
where the widget should be is a failure); the slider's handle is dragged with the mouse (ipywidgets' change event
with continuous_update=False fires on release) and the bytes of the figure's <img> must change. Every picture a
notebook shows from the repository (`../images/...`) must load: JupyterLab's root is the repository's folder, as
the README starts it, and a 403 or 404 for a file in its log is a failure. JupyterLab starts as `dflab-lab`
starts it, and one more notebook is opened, not run, and saved: its file must keep its bytes (opening a notebook
must not turn a clone modified), and JupyterLab's news pop-up must not show. Nothing the run does may change a file
of the repository (`git status` and the changed files' contents are compared before and after).

The notebooks run at the same time (one page and one kernel each, OMP_NUM_THREADS=1 unless set), then their
explorers are checked one after the other. Each notebook is copied into a temporary folder that mirrors the
repository (every other file is a symlink), so the test never writes into nbs/. Screenshots and JupyterLab's log
go to ci-artifacts/browser/. Prints ONE summary line; exit status 1 on failure (with a line per failure saying why). Chromium: /usr/bin/chromium (`apt-get install -y chromium`), driven by playwright.
"""
import argparse, base64, json, os, re, secrets, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path
from dflab.course import lab_args

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / 'ci-artifacts' / 'browser'
CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']

# notebook → (what is moved, regex of the cell that shows the explorer, the slider's description)
SAVED = '10_vae'   # opened and saved unchanged: opening a notebook must not modify it

CASES = {
    '14_loop': ('guidance slider', r'^\s*loop_explorer\(', 'guidance'),
    '23_diffedit': ('threshold slider', r'threshold_explorer\(', 'threshold'),
    '20b_depth2img': ('strength slider', r'depth_explorer\(', 'strength'),
    '21b_upscale': ('noise-level slider', r'upscale_explorer\(', 'noise level'),
}

SETTINGS = {   # JupyterLab user settings: no autosave, every cell in the DOM (dflab-lab's own turn the news off)
    '@jupyterlab/docmanager-extension/plugin': {'autosave': False},
    '@jupyterlab/notebook-extension/tracker': {'windowingMode': 'none'},
    '@jupyterlab/extensionmanager-extension/plugin': {'enabled': False},
}


class Failure(Exception): pass


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def mirror(tmp, notebooks, nbs):
    "A folder like the repository: symlinks to everything, but nbs/NOTEBOOK.ipynb and images/ are copies."
    root = tmp / 'repo'
    (root / 'nbs').mkdir(parents=True)
    shutil.copytree(ROOT / 'images', root / 'images')   # JupyterLab serves no file through a link that leaves its root
    for p in ROOT.iterdir():
        if p.name not in ('nbs', 'images', '.git', 'ci-artifacts'): (root / p.name).symlink_to(p)
    for p in (ROOT / 'nbs').iterdir():
        if p.suffix != '.ipynb' and not p.name.startswith('.'): (root / 'nbs' / p.name).symlink_to(p)
    for notebook in notebooks:
        if (nbs / f'{notebook}.ipynb').exists(): shutil.copy(nbs / f'{notebook}.ipynb', root / 'nbs')
    return root


def start_lab(tmp, root, disabled):
    "Start JupyterLab on 127.0.0.1 with fresh settings; return (process, base url, token, log file)."
    config, settings = tmp / 'config', tmp / 'settings'
    for name, values in SETTINGS.items():
        f = settings / f'{name}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    (config / 'labconfig').mkdir(parents=True)
    (config / 'labconfig' / 'page_config.json').write_text(
        json.dumps({'disabledExtensions': {name: True for name in disabled}}))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'),
               HF_HUB_OFFLINE='1', PYTHONHASHSEED='0')
    env.setdefault('OMP_NUM_THREADS', '1')   # the notebooks run at the same time, one per core
    log = tmp / 'lab.log'
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}',
           f'--LabApp.user_settings_dir={settings}', f'--LabApp.workspaces_dir={tmp / "workspaces"}',
           '--LabApp.expose_app_in_browser=True', '--ServerApp.open_browser=False', *lab_args(tmp / 'app-settings')]
    if os.geteuid() == 0: cmd.append('--allow-root')   # CI runs as root
    proc = subprocess.Popen(cmd, env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    import urllib.request
    for _ in range(120):
        if proc.poll() is not None:
            last = [l for l in log.read_text().splitlines() if l.strip()][-1:]
            raise Failure(f'JupyterLab exited at start ({" ".join(last)})')
        try:
            urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2)
            return proc, url, token, log
        except OSError: time.sleep(0.5)
    raise Failure('JupyterLab did not answer within 60 s')


JS_PANEL = """(path) => {   // the notebook panel of `path`, given its DOM id
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) if (w.context && w.context.path === path) {
    const s = w.sessionContext.session;
    return {id: w.id, kernel: s && s.kernel ? s.kernel.status : null};
  }
  return null;
}"""

JS_STATE = """(path) => {
  const nb = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path);
  const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
  const cells = nb.content.widgets.map((c, i) => {
    if (c.model.type !== 'code') return {i, type: c.model.type, source: '', prompt: '', outputs: []};
    const outputs = [];
    for (let k = 0; k < c.model.outputs.length; k++) {
      const o = c.model.outputs.get(k).toJSON();
      if (o.output_type === 'error') outputs.push({output_type: 'error', ename: o.ename, evalue: o.evalue});
      else if (o.output_type === 'stream') outputs.push({output_type: 'stream', name: o.name, text: o.text});
      else outputs.push({output_type: o.output_type});
    }
    return {i, type: 'code', source: c.model.sharedModel.getSource(), prompt: c.promptNode.textContent, outputs};
  });
  return {kernel: kernel ? kernel.status : null, cells};
}"""


def errors_in(cells, notebook):
    "One line per cell that shows an error or a traceback."
    found = []
    for c in cells:
        for o in c['outputs']:
            text = o.get('text', '')
            text = ''.join(text) if isinstance(text, list) else text
            first = next((l for l in c['source'].splitlines() if l.strip() and not l.startswith('#|')), '')
            where = f'{notebook} cell {c["i"] + 1} ({first[:60]!r})'
            if o['output_type'] == 'error':
                found.append(f'{where}: {o["ename"]}: {o["evalue"][:200]}'.rstrip(': '))
            elif o['output_type'] == 'stream' and 'Traceback (most recent call last)' in text:
                found.append(f'{where}: a traceback on {o["name"]}: {text.strip().splitlines()[-1][:200]}')
    return found


def panel_id(page, notebook): return page.evaluate(JS_PANEL, f'nbs/{notebook}.ipynb')['id']


def state(page, notebook): return page.evaluate(JS_STATE, f'nbs/{notebook}.ipynb')


def open_and_run_all(browser, url, token, notebook):
    "Open the notebook in a new page, wait for its kernel, click Run > Run All Cells; return the page."
    page = browser.new_context(viewport={'width': 1400, 'height': 1000}).new_page()   # a window each
    # its own workspace, so the page does not restore the other notebook's tab
    page.goto(f'{url}/lab/workspaces/{notebook}/tree/nbs/{notebook}.ipynb?token={token}', timeout=120_000)
    page.wait_for_function(f"() => {{ const p = ({JS_PANEL})('nbs/{notebook}.ipynb'); return p && p.kernel === 'idle'; }}",
                           timeout=120_000)
    page.wait_for_selector(f'#{panel_id(page, notebook)} .jp-Cell', timeout=120_000)
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(r'^Run$')).click()
    page.locator('.lm-Menu-itemLabel', has_text=re.compile(r'^Run All Cells$')).click()
    return page


def finished(page, notebook):
    "The cells once every code cell ran and the kernel is idle, else None; Failure if a cell shows an error."
    now = state(page, notebook)
    errors = errors_in(now['cells'], notebook)
    if errors: raise Failure('; '.join(errors))
    if now['kernel'] in ('dead', 'restarting', 'autorestarting'): raise Failure(f'the kernel is {now["kernel"]}')
    code = [c for c in now['cells'] if c['type'] == 'code' and c['source'].strip()]
    done = all(re.fullmatch(r'\s*\[\d+\]:\s*', c['prompt']) for c in code)
    return now['cells'] if done and now['kernel'] == 'idle' else None


def explorer_cell(page, cells, notebook, pattern):
    "The DOM node of the output of the cell that shows the explorer."
    matches = [c['i'] for c in cells if c['type'] == 'code' and re.search(pattern, c['source'], re.M)
               and not c['source'].lstrip().startswith('#| hide')
               and any(o['output_type'] in ('display_data', 'execute_result') for o in c['outputs'])]
    if not matches: raise Failure(f'{notebook}: no cell shows an explorer matching {pattern!r}')
    cell = page.locator(f'#{panel_id(page, notebook)} .jp-Notebook .jp-Cell').nth(matches[0])
    return cell.locator('.jp-Cell-outputArea')


def check_widget(outputs, notebook):
    "Fail unless the output holds a live explorer: a widget box with sliders above an Output with an <img>."
    text = outputs.inner_text()
    for sign in ('Loading widget', 'Error displaying widget'):
        if sign in text: raise Failure(f'{notebook}: the explorer did not render: "{sign}..." shown where it should be')
    shown = re.search(r'\b(?:Explorer|VBox|HBox|Box)\(children=.{0,40}', text)
    if shown: raise Failure(f'{notebook}: the explorer did not render: its text {shown.group()!r}... is shown instead')
    if outputs.locator('.jupyter-widgets.widget-slider').count() == 0:
        static = outputs.locator('img').count()
        raise Failure(f'{notebook}: the explorer did not render as a widget (no slider in its output'
                      + (', only the static picture' if static else '') + ')')


def figure_bytes(outputs):
    "The PNG bytes of the figure shown by the explorer's Output widget."
    img = outputs.locator('.jupyter-widgets-output-area img, .widget-output img').first
    try: img.wait_for(timeout=30_000)
    except Exception: raise Failure("the explorer's Output shows no figure <img>") from None
    src = img.get_attribute('src') or ''
    if not src.startswith('data:'): raise Failure(f'figure <img> has no inline data (src {src[:40]!r})')
    return base64.b64decode(src.split(',', 1)[1])


def drag_slider(page, outputs, description):
    "Drag the handle of the slider labelled `description` to the right; return (old, new) readout."
    slider = outputs.locator('.widget-slider', has=page.locator('label', has_text=description)).first
    readout = slider.locator('.widget-readout')
    before = readout.inner_text()
    handle = slider.locator('.noUi-handle').first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in (10, 25, 40, 60):
        page.mouse.move(x + dx, y)
    page.mouse.up()
    after = readout.inner_text()
    if after == before:   # a drag that did not move it (handle at its maximum): go left instead
        page.mouse.move(x, y); page.mouse.down(); page.mouse.move(x - 60, y, steps=4); page.mouse.up()
        after = readout.inner_text()
    if after == before: raise Failure(f'dragging the {description} slider did not change its value ({before})')
    return before, after


def check_explorer(page, notebook, cells):
    "Check the explorer renders live, drag its slider, wait for a new figure; return the summary fragment."
    label, pattern, description = CASES[notebook]
    page.bring_to_front()
    outputs = explorer_cell(page, cells, notebook, pattern)
    outputs.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f'{notebook}-run-all.png')
    check_widget(outputs, notebook)
    first = figure_bytes(outputs)
    outputs.screenshot(path=ARTIFACTS / f'{notebook}-before.png')
    before, after = drag_slider(page, outputs, description)
    deadline = time.monotonic() + 120
    while figure_bytes(outputs) == first:
        if time.monotonic() > deadline:
            raise Failure(f'{notebook}: moving the {label} ({before} → {after}) did not redraw the figure in 120 s')
        time.sleep(0.5)
    page.wait_for_timeout(500)
    outputs.screenshot(path=ARTIFACTS / f'{notebook}-after.png')
    errors = errors_in(state(page, notebook)['cells'], notebook)
    if errors: raise Failure('; '.join(errors))
    return f'{notebook} ok ({label} {before} → {after} redrew the figure)'


def open_and_save(browser, url, token, root, notebook=SAVED):
    "Open `notebook` without running it and save it: its file must keep its bytes, and no news pop-up may show."
    path = root / 'nbs' / f'{notebook}.ipynb'
    before = path.read_bytes()
    page = browser.new_page()
    page.goto(f'{url}/lab/workspaces/saved/tree/nbs/{notebook}.ipynb?token={token}', timeout=120_000)
    page.wait_for_function(f"() => {{ const p = ({JS_PANEL})('nbs/{notebook}.ipynb'); return p && p.kernel === 'idle'; }}",
                           timeout=120_000)
    page.wait_for_timeout(2000)                     # JupyterLab writes the kernel's metadata once it is ready
    mtime = path.stat().st_mtime_ns
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    for _ in range(60):
        if path.stat().st_mtime_ns != mtime: break
        page.wait_for_timeout(500)
    else: raise Failure(f'{notebook}: saving did not write the file in 30 s')
    page.wait_for_timeout(500)
    news = page.get_by_text('official Jupyter news').count()
    page.screenshot(path=ARTIFACTS / f'{notebook}-saved.png')
    page.close()
    if path.read_bytes() != before:
        raise Failure(f'{notebook}: opening and saving it changed the file (a clone would turn modified without an edit)')
    if news: raise Failure("JupyterLab's news pop-up is showing")
    return f'{notebook} opened and saved unchanged, no news pop-up'


def run_checks(browser, url, token, notebooks, timeout, fail):
    "Run All in every notebook at once (one page each), then check each one's explorer; return the ok lines."
    pages, ok = {}, []
    def failed(notebook, e):
        fail(notebook, e)
        if notebook not in pages: return
        try: pages.pop(notebook).screenshot(path=ARTIFACTS / f'{notebook}-failure.png')
        except Exception: pass   # a page that cannot even be photographed: the failure above says why
    def attempt(notebook, f, *args):
        try: return f(*args)
        except Exception as e: failed(notebook, e)   # a Failure, or playwright's Error/TimeoutError
    for notebook in notebooks:
        page = attempt(notebook, open_and_run_all, browser, url, token, notebook)
        if page: pages[notebook] = page
    done, deadline = {}, time.monotonic() + timeout
    while len(done) < len(pages) and time.monotonic() < deadline:
        time.sleep(2)
        for notebook in [n for n in list(pages) if n not in done]:
            cells = attempt(notebook, finished, pages[notebook], notebook)
            if cells: done[notebook] = cells
    for notebook in [n for n in list(pages) if n not in done]:
        failed(notebook, Failure(f'Run All did not finish within {timeout} s'))
    for notebook in [n for n in notebooks if n in done and n in pages]:
        line = attempt(notebook, check_explorer, pages[notebook], notebook, done[notebook])
        if line: ok.append(line)
    return ok


def run_in_lab(tmp, notebooks, nbs, args, fail):
    "Start JupyterLab and Chromium, run the checks, stop both; return the ok lines."
    try: proc, url, token, log = start_lab(tmp, mirror(tmp, notebooks + [SAVED], nbs), args.disable_extension)
    except Failure as e:
        for notebook in notebooks: fail(notebook, e)
        return []
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ok = run_checks(browser, url, token, notebooks, args.timeout, fail)
            try: ok.append(open_and_save(browser, url, token, tmp / 'repo'))
            except Exception as e: fail(SAVED, e)
            browser.close()
            return ok
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired: proc.kill()
        shutil.copy(log, ARTIFACTS / 'jupyterlab.log')


def repository_state() -> dict:
    "Each file `git status` lists, with its status and contents' hash: what a run must leave as it found it."
    lines = subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    hash_of = lambda f: subprocess.run(['git', 'hash-object', f], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {line[3:]: (line[:2], hash_of(line[3:]) if (ROOT / line[3:]).is_file() else None) for line in lines}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--only', action='append', choices=list(CASES), help='test only this notebook (repeatable)')
    p.add_argument('--disable-extension', action='append', default=[],
                   help='disable this JupyterLab extension (to prove the test fails without widgets)')
    p.add_argument('--nbs', type=Path, default=ROOT / 'nbs', help='take the notebooks from this folder (default nbs/)')
    p.add_argument('--timeout', type=int, default=420, help='seconds the Run Alls may take (default 420)')
    args = p.parse_args(argv)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.iterdir(): old.unlink()
    notebooks, nbs = args.only or list(CASES), args.nbs.resolve()
    start, failures = time.monotonic(), {}
    def fail(notebook, e):
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        failures[notebook] = message.removeprefix(f'{notebook}: ').removeprefix(notebook).strip()
    for notebook in notebooks:
        if not (nbs / f'{notebook}.ipynb').exists(): fail(notebook, Failure(f'{nbs / notebook}.ipynb does not exist'))
    todo = [n for n in notebooks if n not in failures]
    repo_before = repository_state()
    with tempfile.TemporaryDirectory(prefix='dflab-browser-') as tmp:
        ok = run_in_lab(Path(tmp), todo, nbs, args, fail) if todo else []
    repo_after = repository_state()
    if (written := sorted(f for f in {*repo_before, *repo_after} if repo_before.get(f) != repo_after.get(f))):
        failures['repository'] = f"running the notebooks wrote into the repository: {', '.join(written)}"
    missing = sorted({m.group(1) for m in re.finditer(r' 40[34] GET /files/([^?\s]+)', (ARTIFACTS / 'jupyterlab.log').read_text())}
                     if (ARTIFACTS / 'jupyterlab.log').exists() else [])
    if missing: failures['pictures'] = f"JupyterLab could not serve {', '.join(missing)} (a notebook shows a file the server cannot reach)"
    for notebook, message in failures.items(): print(f'browser test failure: {notebook}: {message}')
    parts = [next((line for line in ok if line.startswith(f'{n} ')), f'{n} FAILED') for n in notebooks + [SAVED]]
    print(f'browser test: {", ".join(parts)}, {time.monotonic() - start:.0f} s'
          f' (screenshots in {ARTIFACTS.relative_to(ROOT)}/)')
    return 1 if failures else 0


if __name__ == '__main__': sys.exit(main())
