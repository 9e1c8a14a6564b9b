"""The VAE's capacity trade: held-out PSNR at 128 px against parameters and decode time, for a few widths trained
the same number of steps with dflab-tiny's VAE recipe. Resumable; results in dflab/results/vae_capacity.json.

    python tools/vae_capacity.py --out ~/.cache/dflab/vae-capacity --steps 800 --threads 1
"""
import argparse, json, logging
from pathlib import Path
import numpy as np, torch
from dflab.core import n_params, seconds
from dflab.tiny import held_out_psnr, new_vae, object_centres, shapes_data, train_stage, vae_batches, vae_loss, VAE_CONFIG

WIDTHS = {'16-64 ×1': dict(block_out_channels=(16, 32, 64, 64)),
          '32-128 ×1': dict(block_out_channels=(32, 64, 128, 128)),
          '32-128 ×2': dict(block_out_channels=(32, 64, 128, 128), layers_per_block=2)}
RESULTS = Path(__file__).parent.parent / 'dflab' / 'results' / 'vae_capacity.json'

@torch.no_grad()
def decode_ms(vae, repeats=5) -> float:
    "Median milliseconds to decode one 128 px image's latents (after a warm-up)."
    z = torch.randn(1, 4, 16, 16)
    vae.decode(z)
    return 1000 * float(np.median([seconds(lambda: vae.decode(z)) for _ in range(repeats)]))

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', type=Path, required=True)
    p.add_argument('--steps', type=int, default=800)
    p.add_argument('--n-train', type=int, default=8000)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s')
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    images = shapes_data(a.out, a.n_train)['images']
    batches = vae_batches(images, object_centres(len(images)))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name, kw in WIDTHS.items():
        torch.manual_seed(0)
        vae = new_vae(**kw)
        start = time.time()
        train_stage(name.replace(' ', '_'), a.out, dict(vae=vae), batches, vae_loss, 1e9, 1e-3, a.steps)
        progress = json.loads((a.out / 'ckpt' / name.replace(' ', '_') / 'progress.json').read_text())
        vae.eval()
        results[name] = dict(config={**VAE_CONFIG, **kw}, params=n_params(vae), steps=a.steps, batch=16,
                             train_minutes=round(progress['elapsed'] / 60, 1), threads=a.threads,
                             psnr_128=round(held_out_psnr(vae), 2), decode_ms=round(decode_ms(vae), 1))
        logging.info(f"{name}: {results[name]}")
        RESULTS.write_text(json.dumps(results, indent=1, default=list))

if __name__ == '__main__': main()
