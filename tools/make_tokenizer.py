"""Regenerate SD v1's CLIP tokenizer files for the embedded models from OpenAI CLIP's published BPE merges.

Usage: python tools/make_tokenizer.py [BPE_GZ [OUT_DIR]]

BPE_GZ is CLIP's `bpe_simple_vocab_16e6.txt.gz`; without it, the openai-clip source distribution (MIT) is
downloaded from PyPI to read the file from. OUT_DIR is where the tokenizer is written; without it, into the
`tokenizer` folders of dflab's embedded models (`dflab/weights/tiny` and `dflab/weights/tiny-inpainting`).

Stable Diffusion v1 uses OpenAI CLIP's byte-pair-encoding tokenizer: 49,408 tokens. Its two files, `vocab.json` and
`merges.txt`, are derived from the list of BPE merges that OpenAI published with CLIP (https://github.com/openai/CLIP,
MIT licence); this script rebuilds them exactly, so the embedded model speaks the same token language as SD v1
without downloading anything. CLIP's licence (`tools/CLIP_TOKENIZER_LICENSE`) is copied next to every tokenizer
written.
"""
import gzip, json, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
WEIGHTS = TOOLS.parent / 'dflab' / 'weights'

def bytes_to_unicode() -> dict:
    "CLIP's reversible map from the 256 byte values to printable unicode characters."
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))

def write_clip_tokenizer(bpe_gz, out_dir) -> Path:
    "Write SD v1's CLIP tokenizer (`vocab.json`, `merges.txt` and configs) to `out_dir` from CLIP's `bpe_simple_vocab_16e6.txt.gz`."
    merges = gzip.open(bpe_gz).read().decode('utf-8').split('\n')[1:49152 - 256 - 2 + 1]
    byte_chars = list(bytes_to_unicode().values())
    vocab = byte_chars + [c + '</w>' for c in byte_chars] + [''.join(m.split()) for m in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    out = Path(out_dir); out.mkdir(parents=True, exist_ok=True)
    (out / 'vocab.json').write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (out / 'merges.txt').write_text('#version: 0.2\n' + '\n'.join(merges) + '\n', encoding='utf-8')
    special = dict(bos_token='<|startoftext|>', eos_token='<|endoftext|>', unk_token='<|endoftext|>',
                   pad_token='<|endoftext|>')
    (out / 'special_tokens_map.json').write_text(json.dumps(special, indent=2))
    (out / 'tokenizer_config.json').write_text(json.dumps(dict(
        special, add_prefix_space=False, do_lower_case=True, errors='replace', model_max_length=77,
        tokenizer_class='CLIPTokenizer'), indent=2))
    return out

def download_bpe_file() -> Path:
    "CLIP's `bpe_simple_vocab_16e6.txt.gz`, read from the openai-clip source distribution on PyPI."
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '-d', tmp,
                    'openai-clip==1.0.1'], check=True)
    with tarfile.open(next(tmp.glob('openai-clip-*.tar.gz'))) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith('bpe_simple_vocab_16e6.txt.gz'))
        tar.extract(member, tmp, filter='data')
    return tmp / member.name

def main(args):
    if any(a in ('-h', '--help') for a in args): return print(__doc__)
    if len(args) > 2: sys.exit("usage: python tools/make_tokenizer.py [BPE_GZ [OUT_DIR]]")
    src = Path(args[0]) if args else download_bpe_file()
    if not src.is_file(): sys.exit(f"make_tokenizer.py: error: {src} is not a file")
    outs = [Path(args[1])] if len(args) > 1 else [WEIGHTS / name / 'tokenizer' for name in ('tiny', 'tiny-inpainting')]
    for out in outs:
        write_clip_tokenizer(src, out)
        shutil.copy(TOOLS / 'CLIP_TOKENIZER_LICENSE', out / 'LICENSE')
        print('wrote', out)

if __name__ == '__main__':
    main(sys.argv[1:])
