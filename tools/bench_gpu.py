"""GPU benchmark: dflab's loop against diffusers' StableDiffusionPipeline on SD 1.5's architecture, and a DiffEdit mask.

Usage: python tools/bench_gpu.py [--folder DIR] [--steps 50] [--repeats 5] [--dtype fp16] [--no-compile] [--out FILE]

SD 1.5's published architecture with random weights (built with `dflab.archs.build_random_sd` into `--folder`
unless one is there already; timings do not depend on the weights' values), 512×512, `--steps` DDIM steps with
classifier-free guidance at 7.5:
- `text2img` against `StableDiffusionPipeline` with the same parts, scheduler, steps and seed, alternating the two
  (A-B, B-A) after a warm-up, median of `--repeats`: eager, then with the UNet compiled (`load_sd(compile=True)`:
  channels-last memory and `torch.compile`, used by both sides since they share the UNet);
- one DiffEdit mask (`diffedit_mask`, n = 10 noise draws in one UNet batch), median of `--repeats`.
Prints a Markdown table and writes the numbers as JSON to `--out`. Needs a CUDA GPU.
"""
import argparse, json, statistics, tempfile, time
from pathlib import Path
import numpy as np, torch
from dflab.archs import build_random_sd
from dflab.models import load_sd
from dflab.studies import bench_text2img
from dflab.diffedit import diffedit_mask

def _model_folder(folder) -> Path:
    "SD 1.5's architecture with random weights in `folder` (built once)."
    folder = Path(folder)
    if not (folder / 'model_index.json').exists(): build_random_sd('sd-v1-5', folder, fp16=True)
    return folder

def _mask_seconds(sd, repeats) -> float:
    "Median seconds of one DiffEdit mask (n = 10) on a 512×512 image."
    image = np.random.default_rng(0).integers(0, 256, (sd.size, sd.size, 3), dtype=np.uint8)
    make = lambda: diffedit_mask(sd, image, 'a photo of a cat', 'a photo of a dog', n=10)
    make()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize(); start = time.perf_counter()
        make()
        torch.cuda.synchronize(); times.append(time.perf_counter() - start)
    return statistics.median(times)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--folder', default=Path(tempfile.gettempdir()) / 'dflab-sd-v1-5-random')
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--dtype', default='fp16', help='fp16 or bf16')
    p.add_argument('--no-compile', action='store_true', help='skip the compiled run')
    p.add_argument('--out', default='bench_gpu.json')
    a = p.parse_args()
    if not torch.cuda.is_available(): raise SystemExit('bench_gpu.py needs a CUDA GPU')
    folder = _model_folder(a.folder)
    rows = {}
    for compiled in ([False] if a.no_compile else [False, True]):
        sd = load_sd(str(folder), dtype=a.dtype, compile=compiled)
        b = bench_text2img(sd, 'a photo of a cat on a sofa', steps=a.steps, repeats=a.repeats)
        rows['compiled' if compiled else 'eager'] = dict(b, mask_s=_mask_seconds(sd, a.repeats))
    gpu = torch.cuda.get_device_name()
    print(f'{gpu}, torch {torch.__version__}, SD 1.5 architecture (random weights), 512×512, {a.steps} steps, '
          f'guidance 7.5, {a.dtype}, median of {a.repeats}\n')
    print('| UNet | dflab text2img (s) | StableDiffusionPipeline (s) | ratio | DiffEdit mask, n = 10 (s) |')
    print('|---|---|---|---|---|')
    for name, r in rows.items():
        print(f"| {name} | {r['dflab_s']:.3f} | {r['diffusers_s']:.3f} | {r['ratio']:.3f} | {r['mask_s']:.3f} |")
    Path(a.out).write_text(json.dumps(dict(gpu=gpu, torch=torch.__version__, steps=a.steps, dtype=a.dtype,
                                           repeats=a.repeats, results=rows), indent=1))

if __name__ == '__main__': main()
