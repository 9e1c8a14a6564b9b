"""Regenerate SD v1's CLIP tokenizer files for the embedded models from OpenAI CLIP's published BPE merges.

Usage: python tools/make_tokenizer.py [bpe_simple_vocab_16e6.txt.gz]
Without an argument, the openai-clip source distribution (MIT) is downloaded from PyPI to read the file from.
"""
import shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path
from dflab.models import WEIGHTS, write_clip_tokenizer

def bpe_file() -> Path:
    if len(sys.argv) > 1: return Path(sys.argv[1])
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '-d', tmp,
                    'openai-clip==1.0.1'], check=True)
    with tarfile.open(next(tmp.glob('openai-clip-*.tar.gz'))) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith('bpe_simple_vocab_16e6.txt.gz'))
        tar.extract(member, tmp, filter='data')
    return tmp / member.name

if __name__ == '__main__':
    src = bpe_file()
    for name in ('tiny', 'tiny-inpainting'):
        out = write_clip_tokenizer(src, WEIGHTS / name / 'tokenizer')
        shutil.copy(Path(__file__).parent / 'CLIP_TOKENIZER_LICENSE', out / 'LICENSE')
        print('wrote', out)
