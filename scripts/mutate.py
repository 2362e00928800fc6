#!/usr/bin/env python3
"""Mutation test of the built tools (issue 11): re-runs the issue's table.

For each row, makes a real small input with the tools (from ../shared/data), mutates it N times
(default 3,000; byte-level: bit flips, random bytes, truncation, insertion, deletion, copied
ranges, special 8-byte header lengths; header-aware: a number or metadata value of the
safetensors header replaced by a boundary value such as -1, 0, 2^31, 2^63-1, 1e400, nan, "-0"),
runs the tool on it and counts crashes (the process ended by a signal) and hangs (> 10 s).
Every process runs under a 4 GB address-space limit, so an allocation by a claimed size fails
(and counts as a crash) instead of exhausting the machine.

Usage: scripts/mutate.py [--bin .build/release] [--cases 3000] [--jobs 2] [--rows a,b] [--keep DIR]
Rows: vocab, train, ckpt, lm, state, lmstate, headers, options. Exit status 1 when any crash or
hang was seen; the inputs that caused them are kept in --keep (default .build-fuzz/mutate).
"""
import argparse, concurrent.futures as cf, threading, json, os, random, resource, shutil, struct, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument('--bin', default='.build/release')
ap.add_argument('--data', default='../shared/data')
ap.add_argument('--cases', type=int, default=3000)
ap.add_argument('--jobs', type=int, default=2)
ap.add_argument('--rows', default='vocab,train,ckpt,lm,state,lmstate,headers,options')
ap.add_argument('--keep', default='.build-fuzz/mutate')
ap.add_argument('--seed', type=int, default=11)
args = ap.parse_args()
BIN = os.path.abspath(args.bin)
DATA = os.path.abspath(args.data)
KEEP = os.path.abspath(args.keep)
os.makedirs(KEEP, exist_ok=True)
work = tempfile.mkdtemp(prefix='rnn-mutate-')
env = dict(os.environ, SWIFT_BACKTRACE='enable=no')

def limit():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    os.nice(10)

def tool(*a, stdin=None, cwd=work, timeout=600):
    return subprocess.run([os.path.join(BIN, a[0])] + list(a[1:]), cwd=cwd, stdin=stdin, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=timeout, env=env)

def must(*a, **k):
    r = tool(*a, **k)
    if r.returncode != 0:
        sys.exit(f"mutate: setting up failed: {' '.join(a)}: {r.stderr.decode(errors='replace')}")

# --- real small inputs --------------------------------------------------------------------
must('rnn-corpus', os.path.join(DATA, 'aclImdb_v1.tar.gz'), '--split', 'train', '--limit', '6', '-q', '-o', 'raw.jsonl')
must('rnn-clean', '-q', 'raw.jsonl', '-o', 't.jsonl')
with open(os.path.join(work, 'ts.txt'), 'wb') as f:
    f.write(open(os.path.join(DATA, 'tinyshakespeare.txt'), 'rb').read()[:4000])
must('rnn-vocab', '-q', 't.jsonl', '-o', 'vocab.bin')
must('rnn-encode', '-q', '--vocab', 'vocab.bin', '--fix-length', '40', 't.jsonl', '-o', 'train.bin')
must('rnn-fit', 'train.bin', '--vocab', 'vocab.bin', '--embed-dim', '4', '--hidden', '4', '--epochs', '1', '-o', 'best.ckpt')
must('rnn-fit', '--lm', 'ts.txt', '--layers', '1', '--hidden', '8', '--embed-dim', '4', '--epochs', '1', '--seq-len', '16',
     '--batch-size', '4', '-o', 'lm.ckpt')

SPECIAL_NUMBERS = [-1, 0, 1, 2, 3, 255, 65536, 2**31 - 1, 2**31, 2**32, 2**53, 2**62, 2**63 - 1, 2**63, 2**64, -2**63, 10**9, 100000]
SPECIAL_STRINGS = ['-0', '-1', '0', 'nan', 'inf', '-inf', '1e400', '9223372036854775807', '9223372036854775808', '100000',
                   '1000000000', '', ' ', 'true', '[]', '{}', '"', '\u0000', 'x' * 300, '0.5', '1e-45']

def split_st(b):
    if len(b) < 8: return None
    n = struct.unpack('<Q', b[:8])[0]
    if n > len(b) - 8: return None
    try: return json.loads(b[8:8 + n]), b[8 + n:]
    except Exception: return None

def join_st(h, data):
    hb = json.dumps(h, separators=(',', ':')).encode()
    while len(hb) % 8: hb += b' '
    return struct.pack('<Q', len(hb)) + hb + data

def mutate_header(b, rng):
    p = split_st(b)
    if p is None: return mutate_bytes(b, rng)
    h, data = p
    slots = []
    def walk(o, path):
        if isinstance(o, dict):
            for k, v in o.items(): walk(v, path + [k])
        elif isinstance(o, list):
            for i, v in enumerate(o): walk(v, path + [i])
        else: slots.append(path)
    walk(h, [])
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not slots: break
        path = rng.choice(slots)
        o = h
        for k in path[:-1]: o = o[k]
        old = o[path[-1]]
        if isinstance(old, str): o[path[-1]] = rng.choice(SPECIAL_STRINGS + [str(rng.choice(SPECIAL_NUMBERS))])
        elif isinstance(old, (int, float)): o[path[-1]] = rng.choice(SPECIAL_NUMBERS + [old + 1, old - 1, old * 2, 1e400, -1.5])
        else: o[path[-1]] = rng.choice(SPECIAL_NUMBERS)
    try:
        return join_st(h, data).replace(b'Infinity', b'1e400')
    except Exception:
        return mutate_bytes(b, rng)

def mutate_bytes(b, rng):
    b = bytearray(b)
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        k = rng.randrange(9)
        n = len(b)
        if n == 0: b += bytes(rng.randrange(256) for _ in range(8)); continue
        i = rng.randrange(n)
        if k == 0: b[i] ^= 1 << rng.randrange(8)
        elif k == 1: b[i] = rng.randrange(256)
        elif k == 2: del b[rng.randrange(n):]
        elif k == 3: b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        elif k == 4: del b[i:i + rng.randrange(1, 64)]
        elif k == 5:
            j = rng.randrange(n); L = rng.randrange(1, 256); b[i:i] = b[j:j + L]
        elif k == 6: b[0:8] = struct.pack('<Q', rng.choice([2**63, 2**64 - 1, 2**63 + 5, 0, 1, len(b), len(b) + 1, 2**32]))
        elif k == 7 and n > 16:
            # a digit inside the header
            hl = min(struct.unpack('<Q', bytes(b[:8]))[0], n - 8) if n >= 8 else 0
            digits = [p for p in range(8, 8 + hl) if 48 <= b[p] <= 57]
            if digits: b[rng.choice(digits)] = rng.choice(b'0123456789-')
        else: b[i] = rng.choice([0, 0xFF, 0x7F, 0x80, ord('"'), ord('{'), ord('}')])
    return bytes(b)

def mutate(b, rng):
    return mutate_header(b, rng) if rng.random() < 0.5 else mutate_bytes(b, rng)

def run_case(case):
    row, idx, argv, files, stdin_path = case
    d = os.path.join(work, f'{row}-{idx}')
    os.makedirs(d, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(d, name), 'wb') as f: f.write(content)
    for base in ['t.jsonl', 'ts.txt', 'vocab.bin', 'train.bin']:
        if base not in files: os.symlink(os.path.join(work, base), os.path.join(d, base))
    stdin = open(os.path.join(work, stdin_path), 'rb') if stdin_path else subprocess.DEVNULL
    outcome = 'ok'
    # Standard output is a pipe closed after 1 MB, as `| head -c 1M` would: a tool asked for
    # endless output (rnn-sample --length 10^12) must then end quietly; one that neither ends
    # nor writes within 10 s is a hang.
    p = subprocess.Popen([os.path.join(BIN, argv[0])] + argv[1:], cwd=d, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, preexec_fn=limit)
    killed = []
    def kill():
        killed.append(True)
        p.kill()
    timer = threading.Timer(10, kill)
    timer.start()
    try:
        p.stdout.read(1 << 20)
        p.stdout.close()
        rc = p.wait()
    finally:
        timer.cancel()
        if stdin_path: stdin.close()
    if killed:
        outcome = 'hang'
    elif rc < 0:
        outcome = f'crash (signal {-rc})'
    if outcome != 'ok':
        keep = os.path.join(KEEP, f'{row}-{idx}')
        shutil.copytree(d, keep, dirs_exist_ok=True)
        with open(os.path.join(keep, 'COMMAND'), 'w') as f: f.write(' '.join(argv) + f'\n{outcome}\n')
    shutil.rmtree(d, ignore_errors=True)
    return row, outcome

def read(name): return open(os.path.join(work, name), 'rb').read()

rows = args.rows.split(',')
rng = random.Random(args.seed)
cases = {}
FIT = ['--embed-dim', '4', '--hidden', '4', '--epochs', '1', '-o', 'out.ckpt']
if 'vocab' in rows:
    base = read('vocab.bin')
    cases['vocab'] = ('mutated vocab.bin -> rnn-encode', [(['rnn-encode', '-q', '--vocab', 'm.bin', 't.jsonl'], {'m.bin': mutate(base, rng)}, None) for _ in range(args.cases)])
if 'train' in rows:
    base = read('train.bin')
    cases['train'] = ('mutated train.bin -> rnn-fit', [(['rnn-fit', 'm.bin', '--vocab', 'vocab.bin'] + FIT, {'m.bin': mutate(base, rng)}, None) for _ in range(args.cases)])
if 'ckpt' in rows:
    base = read('best.ckpt')
    cases['ckpt'] = ('mutated best.ckpt -> rnn-classify', [(['rnn-classify', '-q', '-m', 'm.ckpt'], {'m.ckpt': mutate(base, rng)}, 't.jsonl') for _ in range(args.cases)])
if 'lm' in rows:
    base = read('lm.ckpt')
    cases['lm'] = ('mutated lm.ckpt -> rnn-sample', [(['rnn-sample', '-m', 'm.ckpt', '--length', '20', '--seed', '1'], {'m.ckpt': mutate(base, rng)}, None) for _ in range(args.cases)])
if 'state' in rows and os.path.exists(os.path.join(work, 'best.ckpt.state')):
    ck, base = read('best.ckpt'), read('best.ckpt.state')
    cases['state'] = ('mutated classifier state -> rnn-fit --resume', [(['rnn-fit', 'train.bin', '--vocab', 'vocab.bin', '--resume', 'best.ckpt', '--epochs', '2'],
                       {'best.ckpt': ck, 'best.ckpt.state': mutate(base, rng)}, None) for _ in range(args.cases)])
if 'lmstate' in rows and os.path.exists(os.path.join(work, 'lm.ckpt.state')):
    ck, base = read('lm.ckpt'), read('lm.ckpt.state')
    cases['lmstate'] = ('mutated LM state -> rnn-fit --resume', [(['rnn-fit', '--lm', 'ts.txt', '--resume', 'lm.ckpt', '--epochs', '2'],
                         {'lm.ckpt': ck, 'lm.ckpt.state': mutate(base, rng)}, None) for _ in range(args.cases)])
if 'headers' in rows:
    hand = []
    dtypes = ['F32', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F16', 'X1', '', 5]
    for i in range(args.cases // 10):
        shape = [rng.choice(SPECIAL_NUMBERS) for _ in range(rng.randrange(0, 4))]
        b0 = rng.choice(SPECIAL_NUMBERS); e0 = rng.choice(SPECIAL_NUMBERS + [b0])
        h = {'__metadata__': {'format': rng.choice(['rnn-vocab', 'rnn-encoded', 'rnn-checkpoint']), 'version': '1'},
             'x': {'dtype': rng.choice(dtypes), 'shape': shape, 'data_offsets': [b0, e0]}}
        if rng.random() < 0.3: h['y'] = dict(h['x'])
        b = join_st(h, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        if rng.random() < 0.2: b = struct.pack('<Q', rng.choice([2**63, 2**64 - 1, 7, len(b)])) + b[8:]
        tool_argv = rng.choice([['rnn-encode', '-q', '--vocab', 'm.bin', 't.jsonl'], ['rnn-classify', '-q', '-m', 'm.bin'],
                                ['rnn-fit', 'm.bin', '--vocab', 'vocab.bin'] + FIT, ['rnn-sample', '-m', 'm.bin', '--length', '5']])
        hand.append((tool_argv, {'m.bin': b}, 't.jsonl' if tool_argv[0] == 'rnn-classify' else None))
    cases['headers'] = ('hand-made safetensors headers', hand)
if 'options' in rows:
    values = ['-1', '0', '-0', 'nan', 'inf', '-inf', '1e400', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
              '1000000000000', '1e-50', '0x10', '', 'abc']
    opts = [(['rnn-fit', 'train.bin', '--vocab', 'vocab.bin', '--epochs', '1', '--embed-dim', '4', '--hidden', '4', '-o', 'o.ckpt'],
             ['--lr', '--weight-decay', '--clip', '--lr-decay', '--dropout', '--head-dropout', '--embed-dropout', '--valid-split',
              '--batch-size', '--layers', '--hidden', '--embed-dim', '--epochs', '--seed', '--threads']),
            (['rnn-encode', '-q', '--vocab', 'vocab.bin', 't.jsonl'], ['--fix-length']),
            (['rnn-vocab', '-q', 't.jsonl', '-o', 'v2.bin'], ['--min-freq', '--max-size']),
            (['rnn-sample', '-m', 'lm.ckpt', '--length', '5'], ['--temp', '--top-k', '--length', '-n', '--seed']),
            (['rnn-classify', '-q', '-m', 'best.ckpt'], ['--threshold', '--batch-size', '--threads', '--fix-length'])]
    oc = []
    for argv, names in opts:
        for n in names:
            for v in values:
                files = {'lm.ckpt': read('lm.ckpt')} if argv[0] == 'rnn-sample' else ({'best.ckpt': read('best.ckpt')} if argv[0] == 'rnn-classify' else {})
                oc.append((argv + [n, v], files, 't.jsonl' if argv[0] == 'rnn-classify' else None))
    cases['options'] = ('option values', oc)

print(f"| what | cases | crash (signal) | hang (> 10 s) |\n|---|---|---|---|", flush=True)
total_bad = 0
for row in rows:
    if row not in cases:
        print(f"| {row}: skipped (no such input with this build) | | | |", flush=True)
        continue
    title, cs = cases[row]
    crashes = hangs = 0
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for _, outcome in ex.map(run_case, [(row, i, a, f, s) for i, (a, f, s) in enumerate(cs)]):
            if outcome.startswith('crash'): crashes += 1
            elif outcome == 'hang': hangs += 1
    total_bad += crashes + hangs
    print(f"| {title} | {len(cs):,} | {crashes} | {hangs} |", flush=True)
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if total_bad else 0)
