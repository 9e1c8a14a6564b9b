"""Make the figures in images/ that the README and the chapters point at, from the package, on dflab-tiny.

Usage: python tools/make_figures.py [--out images]
Writes: tiny_samples.png (dflab-tiny samples with their prompts), denoising.gif (latents and x0 previews of one
generation, step by step), guidance_sweep.png, diffedit.png (a DiffEdit mask over its image, and the edit),
inversion.png (DDIM inversion: the image, its inverted noise, the reconstruction and an edit) and
text2img_example.png (the README's code example). Deterministic: the same files every run.
"""
import argparse
from pathlib import Path
import matplotlib
matplotlib.use('agg')
import matplotlib.pyplot as plt
from dflab.core import image_grid, show_images
from dflab.models import load_sd
from dflab.shapes import TEST_SEED, edit_pair
from dflab.vae import latents_to_pil
from dflab.loop import text2img
from dflab.studies import guidance_sweep, denoising_gif
from dflab.inversion import invert, regenerate, inversion_edit
from dflab.diffedit import diffedit_mask, diffedit, overlay

PROMPTS = ['a red circle on a white background', 'a yellow star on a blue background',
           'a green triangle and a purple square on a black background', 'an orange square on a gray background',
           'a blue circle and a yellow triangle on a white background', 'a purple star on a green background',
           'a red triangle on a black background', 'a green circle and an orange star on a gray background']

def save(fig, path):
    fig.savefig(path, dpi=80, bbox_inches='tight')
    plt.close(fig)
    print(path)

def samples(sd, out):
    "A grid of dflab-tiny samples with their prompts."
    wrap = lambda p: p.replace(' on a ', '\non a ').replace(' and ', '\nand ')
    save(show_images(text2img(sd, PROMPTS, seed=0), titles=[wrap(p) for p in PROMPTS], cols=4, size=2.2),
         out / 'tiny_samples.png')

def sweep(sd, out):
    "Two prompts at guidance 1, 3, 7.5 and 15."
    prompts, gs = PROMPTS[:2], (1, 3, 7.5, 15)
    save(show_images(guidance_sweep(sd, prompts, gs), titles=[f'g = {g}' for _ in prompts for g in gs], cols=4, size=2),
         out / 'guidance_sweep.png')

def diffedit_figure(sd, out, seed=TEST_SEED):
    "Chapter 10's showcase: the image, DiffEdit's mask over it, and the edited image (DiffEdit works on about half the pairs)."
    pair = edit_pair(seed, 'colour', n_objects=2)
    mask = diffedit_mask(sd, pair['image'], pair['caption'], pair['target_caption'])
    result = diffedit(sd, pair['image'], pair['caption'], pair['target_caption'], mask=mask)[0]
    fig = show_images([pair['image'], overlay(pair['image'], mask.mask_image), result], size=2.5,
                      titles=[pair['caption'].replace(' on ', '\non '), 'DiffEdit mask',
                              pair['target_caption'].replace(' on ', '\non ')])
    save(fig, out / 'diffedit.png')

def inversion_figure(sd, out, seed=TEST_SEED + 3):
    "A held-out image, its DDIM-inverted noise, the reconstruction from it and an edit."
    pair = edit_pair(seed, 'colour')
    inv = invert(sd, pair['image'], pair['caption'])[0]
    noise = latents_to_pil(sd, inv.start(0))[0]
    recon = latents_to_pil(sd, regenerate(sd, inv, pair['caption']))[0]
    edited = inversion_edit(sd, pair['image'], pair['caption'], pair['target_caption'])[0]
    fig = show_images([pair['image'], noise, recon, edited], size=2.2,
                      titles=['image', 'inverted latent', 'reconstruction', pair['target_caption'].split(' on ')[0]])
    save(fig, out / 'inversion.png')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=Path(__file__).parent.parent / 'images')
    out = Path(p.parse_args().out)
    sd = load_sd('tiny')
    samples(sd, out)
    denoising_gif(sd, 'a yellow star and a red circle on a white background', out / 'denoising.gif', seed=3); print(out / 'denoising.gif')
    sweep(sd, out)
    diffedit_figure(sd, out)
    inversion_figure(sd, out)
    image_grid(text2img(sd, [PROMPTS[4], 'a yellow star on a black background'], seed=0), rows=1).save(
        out / 'text2img_example.png'); print(out / 'text2img_example.png')

if __name__ == '__main__': main()
