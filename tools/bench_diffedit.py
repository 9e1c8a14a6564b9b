"""Time DiffEdit's masks: the article's looped mask, the batched `diffedit_mask`, FastDiffEdit's mask and the attention mask.

Usage: python tools/bench_diffedit.py [--model tiny] [--pairs 5] [--n 10] [--fast-n 20] [--strength 0.5] [--steps 50]
The looped mask runs 2·n full img2img loops per image; `diffedit_mask` runs one UNet batch of 2·n latents; the
FastDiffEdit mask is `diffedit_mask` with `--fast-n` draws, blurred; the attention mask is `diffedit_mask` with
`method='attention'`. Each runs on the same held-out two-object colour edits after one warm-up call; seconds per
mask, speed-up over the looped mask (times of this one run), IoU with the true change and coverage of the untouched
object are printed as a Markdown table. Timings are wall-clock: run it on an
otherwise idle machine. The model defaults to DFLAB_MODEL, else the embedded dflab-tiny.
"""
import argparse, platform
import torch
from dflab.models import load_sd
from dflab.studies import benchmark_masks, benchmark_table

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default=None, help="preset, hub id or folder (default: DFLAB_MODEL or 'tiny')")
    p.add_argument('--pairs', type=int, default=5, help='held-out edit pairs to average over')
    p.add_argument('--n', type=int, default=10, help='noise draws of the looped and batched masks')
    p.add_argument('--fast-n', type=int, default=20, help='noise draws of the FastDiffEdit mask')
    p.add_argument('--strength', type=float, default=0.5)
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--blur', type=float, default=1., help='blur of the FastDiffEdit mask, in latent pixels')
    a = p.parse_args()
    sd = load_sd(a.model)
    print(f'{sd}\n{platform.processor() or platform.machine()}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads')
    res = benchmark_masks(sd, n_pairs=a.pairs, n=a.n, fast_n=a.fast_n, strength=a.strength, steps=a.steps,
                          blur=a.blur)
    print(f'{a.pairs} held-out two-object colour edits, strength {a.strength}, {a.steps} steps')
    print(benchmark_table(res).data)

if __name__ == '__main__': main()
