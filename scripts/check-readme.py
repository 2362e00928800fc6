#!/usr/bin/env python3
"""Checks that README.md's examples run top to bottom as written (issue 10), without running the
long ones: every command line (an indented line starting with a command) is split into its
pipeline stages; every rnn-* stage is checked against the tool's own option definitions
(--experimental-dump-help of the built binary: option names, which take a value, the allowed
values of typed options), and every file it reads must exist (../shared/data) or be written by
an earlier example (-o, --log, --plot, a `>` redirection, or `make` targets named below).

Usage: scripts/check-readme.py [--bin .build/release] [--readme README.md] [--root DIR]
Exit status 0 when every example is consistent; 1 with one line per problem otherwise.
"""
import argparse, json, os, re, shlex, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument('--bin', default=os.environ.get('RNN_BIN', '.build/release'))
ap.add_argument('--readme', default='README.md')
ap.add_argument('--root', help='directory the examples run in (default: the README\'s)')
args = ap.parse_args()
root = args.root or os.path.dirname(os.path.abspath(args.readme))

COMMANDS = {'echo', 'printf', 'cat', 'gzip', 'zcat', 'head', 'paste', 'parallel', 'make', 'sort', 'cut', 'wc', 'jq', 'tee'}
OUTPUT_OPTIONS = {'--output', '--log', '--plot'}
# Files that name data, not options or text: they must exist or have been written before.
FILE_RE = re.compile(r'.*\.(jsonl|bin|ckpt|state|txt|tsv|csv|gz|tar|vec|svg|log|ft)$')
# What `make` targets write (the examples may use them).
MAKE_OUTPUTS = {}

specs = {}
def spec(tool):
    if tool not in specs:
        exe = os.path.join(args.bin, tool)
        if not os.access(exe, os.X_OK):
            return None
        out = subprocess.run([exe, '--experimental-dump-help'], capture_output=True, text=True).stdout
        c = json.loads(out)['command']
        opts = {}
        for a in c.get('arguments', []):
            for n in a.get('names', []):
                name = ('--' if n['kind'] == 'long' else '-') + n['name']
                opts[name] = (a['kind'] == 'option', a.get('allValues'), a['preferredName']['name'] if 'preferredName' in a else None)
        specs[tool] = opts
    return specs[tool]

problems = []
written = set(MAKE_OUTPUTS)

def exists(path):
    return path == '-' or path in written or os.path.exists(os.path.join(root, path))

def check_input(lineno, tool, path):
    if FILE_RE.match(path) and not exists(path):
        problems.append(f'README.md:{lineno}: {tool} reads {path}, which no earlier example writes and which does not exist')

def check_stage(lineno, words):
    # redirections
    clean = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ('>', '>>', '2>', '&>') and i + 1 < len(words):
            if w != '2>':
                written.add(words[i + 1])
            i += 2
            continue
        if w == '<' and i + 1 < len(words):
            check_input(lineno, words[0] if words else '?', words[i + 1])
            i += 2
            continue
        if w.startswith('2>'):
            i += 1
            continue
        clean.append(w)
        i += 1
    if not clean:
        return
    tool = clean[0]
    if not tool.startswith('rnn-'):
        if tool == 'cat':
            for a in clean[1:]:
                check_input(lineno, tool, a)
        return
    opts = spec(tool)
    if opts is None:
        problems.append(f'README.md:{lineno}: {tool} is not a built tool')
        return
    outputs, inputs = [], []
    i = 1
    while i < len(clean):
        w = clean[i]
        if w.startswith('-') and w != '-' and not re.match(r'^-\d', w):
            name, _, inline = w.partition('=')
            if name not in opts:
                problems.append(f'README.md:{lineno}: {tool} has no option {name}')
                i += 1
                continue
            takes, values, preferred = opts[name]
            if takes:
                if inline:
                    value = inline
                elif i + 1 < len(clean):
                    value = clean[i + 1]; i += 1
                else:
                    problems.append(f'README.md:{lineno}: {tool} {name} needs a value')
                    break
                if values and value not in values:
                    problems.append(f'README.md:{lineno}: {tool} {name} {value}: not one of {", ".join(values)}')
                if '--' + (preferred or '') in OUTPUT_OPTIONS:
                    outputs.append(value)
                else:
                    inputs.append(value)
            i += 1
            continue
        inputs.append(w)
        i += 1
    for p in inputs:
        check_input(lineno, tool, p)
    written.update(outputs)

def split_stages(line):
    try:
        words = shlex.split(line, comments=True, posix=True)
    except ValueError as e:
        problems.append(f'README.md: cannot parse {line!r}: {e}')
        return []
    # shlex keeps |, &&, ; glued to words only when unspaced; the README spaces them.
    stages, cur = [], []
    for w in words:
        if w in ('|', '&&', ';', '||'):
            stages.append(cur); cur = []
        else:
            cur.append(w)
    stages.append(cur)
    return stages

lines = open(args.readme, encoding='utf-8').read().split('\n')
checked = 0
for n, raw in enumerate(lines, 1):
    if not raw.startswith('    '):
        continue
    line = raw.strip()
    first = line.split(' ', 1)[0]
    if not (first.startswith('rnn-') or first in COMMANDS):
        continue
    if first == 'make':
        continue  # the set-up commands; make targets are checked by running them
    for stage in split_stages(line):
        check_stage(n, stage)
    checked += 1

for p in problems:
    print(p)
if checked == 0:
    print('README.md: no examples found')
    sys.exit(1)
print(f'check-readme: {checked} command lines, {len(problems)} problems', file=sys.stderr)
sys.exit(1 if problems else 0)
