"""Time dflab's `text2img` against diffusers' `StableDiffusionPipeline` on the same model, steps and seed.

Usage: python tools/bench_text2img.py [--model tiny] [--steps 25] [--repeats 5] [--seed 0] [--prompt "..."]
Each gets one warm-up run, then the two are run alternately `--repeats` times; the medians and their ratio are
printed (ratio > 1: text2img is slower). The model defaults to DFLAB_MODEL, else the embedded dflab-tiny.
"""
import argparse, platform
import torch
from dflab.models import load_sd
from dflab.studies import bench_text2img

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default=None, help="preset, hub id or folder (default: DFLAB_MODEL or 'tiny')")
    p.add_argument('--steps', type=int, default=25)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--guidance', type=float, default=7.5)
    p.add_argument('--prompt', default='a red circle and a blue square on a white background')
    a = p.parse_args()
    sd = load_sd(a.model)
    print(f'{sd}\n{platform.processor() or platform.machine()}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads')
    b = bench_text2img(sd, a.prompt, steps=a.steps, seed=a.seed, guidance=a.guidance, repeats=a.repeats)
    print(f"text2img                 {b['dflab_s']:.3f} s (median of {a.repeats})")
    print(f"StableDiffusionPipeline  {b['diffusers_s']:.3f} s (median of {a.repeats})")
    print(f"ratio text2img / pipeline {b['ratio']:.3f};  {a.steps} steps;  max pixel difference {b['max_pixel_diff']}")

if __name__ == '__main__': main()
