"""Run every technique of the course on full-size SD 1.5, SD 2.1, SD 2-depth and x4-upscaler architectures with random weights.

Usage: python tools/check_sd_architectures.py [--arch sd-v1-5 sd-2-1 sd-2-depth sd-x4-upscaler] [--folder DIR]
       [--steps 2] [--only WORD ...]

No machine that tests dflab can download Stable Diffusion, so this check builds each published architecture with
random weights (`dflab.archs.build_random_sd`; SD 1.5 with its 9-channel inpainting model, SD 2.1 at 768 px with
v-prediction and SD 2's 9-channel inpainting model), saves them as local diffusers folders under `--folder` (kept
for the next run), loads them with `load_sd(folder)` and runs, at each model's own size with `--steps` steps:
text-to-image with guidance, img2img, blended and 9-channel inpainting, the DiffEdit mask and edit, FastDiffEdit,
inversion and editing, attention maps and prompt-to-prompt, the x0 previews, and each chapter explorer's render
function; the DiffEdit masks average 2 noise maps (`n=2`: every UNet call has the same layout for any n, and
at 768 px each map costs minutes on a CPU). It checks sizes, dtypes and the absence of NaN, and the same
equalities with diffusers' pipelines that the chapters claim. One CPU UNet call on a batch of 2 at 64×64 latents
takes about 8 s: the whole check takes an hour or more on a 2-core CPU. SD 2's depth-to-image model (with its
DPT-Hybrid depth estimator) runs `depth2img` against `StableDiffusionDepth2ImgPipeline`, with the estimated and
with a given depth map; the x4 upscaler runs `upscale` (128 px in, 512 px out) against
`StableDiffusionUpscalePipeline`. It prints one line per check with its time, and exits non-zero if any failed.
"""
import argparse, tempfile, time, traceback
from pathlib import Path
import numpy as np, torch
from PIL import Image
from dflab.core import make_generator, randn
from dflab.checks import load_image
from dflab.archs import build_random_sd
from dflab.models import load_sd, make_scheduler, pipeline_reference
from dflab.vae import vae_view
from dflab.schedulers import noise_view
from dflab.loop import text2img, denoise, Recorder, loop_view
from dflab.samplers import scheduler_view
from dflab.text import prompt_embeddings
from dflab.attention import attention_maps
from dflab.img2img import img2img, pipeline_tensor, img2img_view
from dflab.inpainting import inpaint_blended, inpaint_conditioned, inpaint_view
from dflab.inversion import invert, inversion_edit, DDIMInverse, inversion_view
from dflab.diffedit import diffedit_mask, diffedit, fast_diffedit, mask_view
from dflab.vae import pil_to_latents
from dflab.p2p import prompt_to_prompt
from dflab.depth2img import depth2img
from dflab.upscale import upscale

IMAGES = Path(__file__).parent.parent / 'images'
INPAINTING = {'sd-v1-5': 'sd-v1-5-inpainting', 'sd-2-1': 'sd-2-inpainting', 'sd-2-depth': None, 'sd-x4-upscaler': None}
CAT, DOG = 'a photo of a cat', 'a photo of a dog'

def finite_images(arrays, size):
    "Check a technique's `output_type='np'` result: a batch of images at the model's size, with no NaN or inf."
    assert arrays.shape[1:] == (*size, 3), arrays.shape
    assert np.isfinite(arrays).all(), 'NaN or inf in the output'
    return f'{arrays.shape[0]} image(s), {arrays.dtype}, finite'

def close(ours, theirs, tol, what):
    diff = float(np.abs(np.asarray(ours, np.float64) - np.asarray(theirs, np.float64)).max())
    assert np.isfinite(ours).all() and diff <= tol, f'{what}: max difference {diff:.2g} > {tol}'
    return f'max diff {diff:.1e}'

def checks(sd, sdi, steps):
    "Every check for one architecture: name → function returning a short note."
    from diffusers import (StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
                           StableDiffusionDiffEditPipeline, DDIMInverseScheduler)
    size = (sd.size, sd.size)
    cat = load_image(IMAGES / 'cat.png', size=size)
    mask = np.zeros(size, np.uint8); mask[size[0] // 4: 3 * size[0] // 4, size[1] // 4: 3 * size[1] // 4] = 255
    mask_image = Image.fromarray(mask)
    kw = dict(steps=steps, seed=0)
    def t2i():
        pipe = pipeline_reference(sd, StableDiffusionPipeline)
        ref = pipe(CAT, num_inference_steps=steps, generator=make_generator(0), output_type='np').images
        return close(text2img(sd, CAT, output_type='np', **kw), ref, 1e-4, 'text2img vs StableDiffusionPipeline')
    def i2i():
        pipe = pipeline_reference(sd, StableDiffusionImg2ImgPipeline)
        ref = pipe(DOG, image=pipeline_tensor(cat), strength=1.0, num_inference_steps=steps,
                   generator=make_generator(0), output_type='np').images
        return close(img2img(sd, cat, DOG, strength=1.0, output_type='np', **kw), ref, 1e-4, 'img2img')
    def inpaint_4():
        pipe = pipeline_reference(sd, StableDiffusionInpaintPipeline)
        ref = pipe(DOG, image=cat, mask_image=mask_image, num_inference_steps=steps, generator=make_generator(0),
                   height=size[0], width=size[1], output_type='np').images
        return close(inpaint_blended(sd, cat, mask, DOG, output_type='np', **kw), ref, 1e-3, 'blended inpainting')
    def inpaint_9():
        pipe = pipeline_reference(sdi, StableDiffusionInpaintPipeline)
        ref = pipe(DOG, image=cat, mask_image=mask_image, num_inference_steps=steps, generator=make_generator(0),
                   height=size[0], width=size[1], output_type='np').images
        return close(inpaint_conditioned(sdi, cat, mask, DOG, output_type='np', **kw), ref, 1e-3, '9-channel')
    def mask_vs_diffusers():
        pipe = pipeline_reference(sd, StableDiffusionDiffEditPipeline, inverse_scheduler=make_scheduler(sd))
        theirs = pipe.generate_mask(image=pil_to_latents(sd, cat), source_prompt=CAT, target_prompt=DOG,
                                    num_maps_per_mask=2, mask_encode_strength=0.5, guidance_scale=7.5,
                                    generator=make_generator(0))[0]
        ours = diffedit_mask(sd, cat, CAT, DOG, n=2, threshold=0.5, clip_ratio=3.).mask[0, 0].numpy()
        agree = float((ours == theirs).mean())
        assert agree >= 0.99, f'masks agree on {agree:.1%}'
        return f'{agree:.1%} of latent cells agree'
    def inversion():
        ours, theirs = Recorder(), Recorder()
        cond, _ = prompt_embeddings(sd, CAT)
        clean = pil_to_latents(sd, cat)
        denoise(sd, cond, latents=clean, steps=steps, guidance=1, scheduler=DDIMInverse(sd), callback=ours)
        denoise(sd, cond, latents=clean, steps=steps, guidance=1, callback=theirs,
                scheduler=DDIMInverseScheduler.from_config(sd.scheduler.config))
        tol = 1e-5 * max(l.abs().max().item() for l in theirs.latents)
        return close(torch.cat(ours.latents).numpy(), torch.cat(theirs.latents).numpy(), tol, 'inversion')
    def previews():
        rec = Recorder(); cond, uncond = prompt_embeddings(sd, CAT)
        denoise(sd, cond, uncond, steps=steps, seed=0, callback=rec)
        sched = make_scheduler(sd); sched.set_timesteps(steps)
        x = randn(rec.latents[0].shape, generator=make_generator(0))
        for i, t in enumerate(sched.timesteps):
            out = sd.unet(torch.cat([x] * 2), t, encoder_hidden_states=torch.cat([uncond, cond])).sample.chunk(2)
            step = sched.step(out[0] + 7.5 * (out[1] - out[0]), t, x)
            close(rec.x0[i].numpy(), step.pred_original_sample.numpy(), 1e-3, f'x0 preview at step {i}')
            x = step.prev_sample
        return f'{sd.prediction_type} x0 = DDIMScheduler.pred_original_sample'
    return {
        'text2img + CFG vs StableDiffusionPipeline': t2i,
        'img2img vs StableDiffusionImg2ImgPipeline': i2i,
        'blended inpainting vs StableDiffusionInpaintPipeline': inpaint_4,
        '9-channel inpainting vs StableDiffusionInpaintPipeline': inpaint_9,
        'DiffEdit mask vs generate_mask': mask_vs_diffusers,
        'DiffEdit edit': lambda: finite_images(
            diffedit(sd, cat, CAT, DOG, mask_kw=dict(n=2), output_type='np', **kw), size),
        'FastDiffEdit': lambda: finite_images(
            fast_diffedit(sd, sdi, cat, CAT, DOG, n=2, output_type='np', **kw), size),
        'DDIM inversion vs DDIMInverseScheduler': inversion,
        'inversion edit': lambda: finite_images(inversion_edit(sd, cat, CAT, DOG, steps=steps, output_type='np'), size),
        'x0 previews': previews,
        'attention maps': lambda: str(tuple(attention_maps(sd, cat, CAT, strength=0.5, n=1, steps=steps).word('cat').shape)),
        'prompt-to-prompt': lambda: finite_images(prompt_to_prompt(sd, CAT, DOG, steps=steps, output_type='np'), size),
        'explorers: vae_view, noise_view, loop_view, scheduler_view': lambda: [
            vae_view(sd, 0), noise_view(sd, cat, 500), loop_view(sd, CAT, steps=steps),
            scheduler_view(sd, CAT, 'euler', steps)] and 'drawn',
        'explorers: img2img_view, inpaint_view, mask_view, inversion_view': lambda: [
            img2img_view(sd, cat, DOG, 0.8, steps=steps), inpaint_view(sdi, cat, mask, DOG, 0, steps=steps),
            mask_view(cat, diffedit_mask(sd, cat, CAT, DOG, n=1)),
            inversion_view(sd, cat, invert(sd, cat, CAT, steps=steps)[0], CAT, DOG, strength=1.0)] and 'drawn',
    }

def companion_checks(sd, steps):
    "The checks of SD 2's depth-to-image model or its x4 upscaler: name → function returning a short note."
    from diffusers import StableDiffusionDepth2ImgPipeline, StableDiffusionUpscalePipeline
    if sd.unet.config.in_channels == 5:
        cat = load_image(IMAGES / 'cat.png', size=sd.size)
        pipe = pipeline_reference(sd, StableDiffusionDepth2ImgPipeline)
        def depth(given):
            depth_map = torch.linspace(0, 1, sd.size)[None, :, None].expand(1, sd.size, sd.size) if given else None
            ours = depth2img(sd, cat, DOG, depth=depth_map, strength=1.0, steps=steps, output_type='np')
            ref = pipe(DOG, image=pipeline_tensor(cat) if given else cat, depth_map=depth_map, strength=1.0,
                       num_inference_steps=steps, generator=make_generator(0), output_type='np').images
            return close(ours, ref, 1e-4 if given else 1 / 255, 'depth2img')
        return {'depth2img, estimated depth, vs StableDiffusionDepth2ImgPipeline': lambda: depth(False),
                'depth2img, given depth, vs StableDiffusionDepth2ImgPipeline': lambda: depth(True)}
    small = load_image(IMAGES / 'cat.png', size=sd.size // 4)
    def up():
        pipe = pipeline_reference(sd, StableDiffusionUpscalePipeline)
        ref = pipe(CAT, image=pipeline_tensor(small), num_inference_steps=steps, generator=make_generator(0),
                   output_type='np').images
        ours = upscale(sd, small, CAT, steps=steps, output_type='np')
        assert ours.shape[1:3] == (4 * small.height, 4 * small.width), ours.shape
        return close(ours, ref, 1e-4, 'upscale')
    return {'upscale vs StableDiffusionUpscalePipeline': up}

def selected(names, only):
    "The check names that contain one of the words in `only` (any case), in the order of the words; all if none."
    if not only: return list(names)
    return list(dict.fromkeys(n for w in only for n in names if w.lower() in n.lower()))

def run(arch, folder, steps, narrow=False, only=()) -> bool:
    "Build (once), load and check one architecture; True if every check passed."
    paths = {}
    for name in (arch, INPAINTING[arch]) if INPAINTING[arch] else (arch,):
        paths[name] = Path(folder) / (f'{name}-narrow' if narrow else name)
        if not (paths[name] / 'model_index.json').exists():
            start = time.perf_counter()
            build_random_sd(name, paths[name], narrow=narrow, fp16=not narrow)
            print(f'built {name} with random weights in {time.perf_counter() - start:.0f} s')
    sd = load_sd(str(paths[arch]))
    print(f'{arch}: {sd}')
    ok = True
    todo = checks(sd, load_sd(str(paths[INPAINTING[arch]])), steps) if INPAINTING[arch] else companion_checks(sd, steps)
    for name in selected(todo, only):
        check, start = todo[name], time.perf_counter()
        try: note, status = check() or '', 'ok'
        except Exception as e: note, status, ok = f'{type(e).__name__}: {e}', 'FAILED', False; traceback.print_exc()
        print(f'  {status:6} {name:60} {time.perf_counter() - start:6.0f} s  {note}', flush=True)
    return ok

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--arch', nargs='+', default=['sd-v1-5', 'sd-2-1'], choices=list(INPAINTING))
    p.add_argument('--folder', default=Path(tempfile.gettempdir()) / 'dflab-random-architectures')
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--narrow', action='store_true', help='the narrow variants (a quick check of this script itself)')
    p.add_argument('--only', nargs='*', default=(), metavar='WORD',
                   help='run only the checks whose names contain one of these words, in that order, e.g. x0 FastDiffEdit')
    a = p.parse_args()
    start = time.perf_counter()
    ok = all([run(arch, a.folder, a.steps, a.narrow, a.only) for arch in a.arch])
    print(f"{'all checks passed' if ok else 'SOME CHECKS FAILED'} in {(time.perf_counter() - start) / 60:.1f} min")
    raise SystemExit(0 if ok else 1)

if __name__ == '__main__': main()
