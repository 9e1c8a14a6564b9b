"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto; this needs only the standard library).

Markdown cells are copied with links to `../images/` made relative to the repository root; code cells are copied
as Python blocks unless they start with `#| echo: false`; their Markdown and text outputs follow them, and image
outputs are written to `images/readme-<cell>.png` and linked. The result depends only on the committed notebook.
"""
import base64, json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def cell_markdown(i, cell) -> list:
    "The README lines of notebook cell number `i`."
    src = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown': return [src.replace('](../images/', '](images/')]
    out = [] if src.startswith('#| echo: false') else [f'```python\n{src}\n```']
    for o in cell.get('outputs', []):
        data = o.get('data', {})
        if 'image/png' in data:
            name = f'images/readme-{i}.png'
            (ROOT / name).write_bytes(base64.b64decode(data['image/png']))
            out.append(f'![output of the code above]({name})')
        elif 'text/markdown' in data: out.append(''.join(data['text/markdown']))
        elif 'text/plain' in data or o.get('output_type') == 'stream':
            out.append('```\n' + ''.join(data.get('text/plain', o.get('text', ''))).rstrip() + '\n```')
    return out

def main():
    nb = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())
    parts = [line for i, c in enumerate(nb['cells']) for line in cell_markdown(i, c)]
    (ROOT / 'README.md').write_text('\n\n'.join(p.strip('\n') for p in parts) + '\n')

if __name__ == '__main__': main()
