#!/usr/bin/env python3
"""Man pages and bash/zsh/fish completions for the rnn-* tools, generated from their command-line
definitions (`TOOL --experimental-dump-help`, swift-argument-parser's ToolInfo JSON), so that the
help text written next to each option is the only source.

Usage: scripts/gen-docs.py BIN_DIR OUT_DIR   (writes OUT_DIR/man/*.1 and OUT_DIR/completions/*)

Why not ArgumentParser's own generators: they inject a `help` subcommand the tools do not have
(its zsh script then fails with "doubled rest argument definition"), and its man pages have no
OPTIONS section with defaults, no EXIT STATUS codes and no EXAMPLES.
"""
import json
import os
import re
import subprocess
import sys

TOOLS = ["rnn-corpus", "rnn-clean", "rnn-vocab", "rnn-encode", "rnn-fit", "rnn-classify", "rnn-sample"]
# A fixed date keeps the pages reproducible; bump it when the command-line surface changes.
MAN_DATE = "2026-12-04"

EXIT_STATUS = [
    ("0", "Success. Also when a reader of standard output closes the pipe early (broken pipe ends quietly)."),
    ("1", "Runtime error: bad input, missing or unreadable file, full disk, ... One line "
          "\\fITOOL\\fR: error: ... on standard error says what, where and what to do."),
    ("2", "Usage error: unknown option, missing or invalid value."),
    ("130", "Interrupted (SIGINT, Ctrl-C). Outputs written atomically are left as they were before the run "
            "(rnn-fit keeps its best checkpoint so far)."),
    ("143", "Terminated (SIGTERM), with the same guarantees as 130."),
]


def dump(bin_dir, tool):
    out = subprocess.run([os.path.join(bin_dir, tool), "--experimental-dump-help"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["command"]


def arguments(cmd):
    return [a for a in cmd.get("arguments", []) if a.get("shouldDisplay", True)
            and not (a["kind"] == "flag" and a.get("preferredName", {}).get("name") in ("help", "version"))]


def names(a):
    """Option spellings, short first: ['-m', '--model']."""
    ns = sorted(a.get("names", []), key=lambda n: n["kind"] != "short")
    return [("-" if n["kind"] in ("short", "longWithSingleDash") else "--") + n["name"] for n in ns]


def values(a):
    """The fixed set of values of an option, or None."""
    ck = a.get("completionKind") or {}
    if "list" in ck:
        return ck["list"].get("values")
    return a.get("allValues") or None


def is_path(a):
    ck = a.get("completionKind") or {}
    return a["kind"] == "positional" and not values(a) or "file" in ck or "directory" in ck


def split_discussion(text):
    """(description lines, example lines): the examples are the indented block after 'Examples:'."""
    lines = (text or "").split("\n")
    for i, l in enumerate(lines):
        if re.fullmatch(r"\s*Examples?:\s*", l):
            return lines[:i], [x.strip() for x in lines[i + 1:] if x.strip()]
    return lines, []


# ---------------------------------------------------------------------------------------- man

def roff(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l) if l[:1] in (".", "'") else l for l in s.split("\n"))


def roff_block(lines):
    """Paragraphs (blank-line separated) as text; indented lines preformatted."""
    out, para, pre = [], [], []

    def flush_para():
        if para:
            out.append(roff(" ".join(x.strip() for x in para)))
            para.clear()

    def flush_pre():
        if pre:
            out.append(".PP\n.nf\n.RS 4\n" + roff("\n".join(pre)) + "\n.RE\n.fi\n.PP")
            pre.clear()

    for l in lines:
        if not l.strip():
            flush_para(); flush_pre()
            if out and out[-1] != ".PP":
                out.append(".PP")
        elif l.startswith("  "):
            flush_para(); pre.append(l.rstrip())
        else:
            flush_pre(); para.append(l)
    flush_para(); flush_pre()
    while out and out[-1] == ".PP":
        out.pop()
    return "\n".join(out)


def man_page(tool, cmd, version):
    args = arguments(cmd)
    desc, examples = split_discussion(cmd.get("discussion"))
    opts = [a for a in args if a["kind"] != "positional"]
    pos = [a for a in args if a["kind"] == "positional"]
    r = [f'.TH {tool.upper()} 1 {MAN_DATE} "rnn-* {version}" "User Commands"',
         ".SH NAME", f"{tool} \\- {roff(cmd.get('abstract', ''))}",
         ".SH SYNOPSIS", f".B {tool}", "[\\fIOPTIONS\\fR]" + "".join(
             " " + ("[" if p.get("isOptional") else "") + f"\\fI{p['valueName']}\\fR" + (" ..." if p.get("isRepeating") else "")
             + ("]" if p.get("isOptional") else "") for p in pos)]
    r += [".SH DESCRIPTION", roff(cmd.get("abstract", ""))]
    body = roff_block(desc)
    if body:
        r += [".PP", body]
    if pos:
        r.append(".SH ARGUMENTS")
        for p in pos:
            r += [".TP", f"\\fI{p['valueName']}\\fR", roff(p.get("abstract", ""))]
    r.append(".SH OPTIONS")
    for a in opts:
        head = ", ".join(f"\\fB{roff(n)}\\fR" for n in names(a))
        if a["kind"] == "option":
            head += f" \\fI{a.get('valueName', 'value')}\\fR"
        text = roff(a.get("abstract", ""))
        if a.get("discussion"):
            text += "\n" + roff(a["discussion"])
        vs = values(a)
        if vs:
            text += "\n.br\nValues: " + ", ".join(f"\\fB{roff(v)}\\fR" for v in vs) + "."
        if a["kind"] == "option":
            if "defaultValue" in a:
                text += f"\n.br\nDefault: \\fB{roff(a['defaultValue'])}\\fR."
            elif not a.get("isOptional"):
                text += "\n.br\nRequired."
        if a.get("isRepeating") and a["kind"] == "option":
            text += "\n.br\nMay be given more than once."
        r += [".TP", head, text]
    r += [".TP", "\\fB\\-h\\fR, \\fB\\-\\-help\\fR", "Show the help and exit.",
          ".TP", "\\fB\\-\\-version\\fR", "Print the version and exit."]
    r.append(".SH EXIT STATUS")
    for code, text in EXIT_STATUS:
        r += [".TP", f"\\fB{code}\\fR", text.replace("\\fITOOL\\fR", tool)]
    if examples:
        r += [".SH EXAMPLES", ".nf", ".RS 4", roff("\n".join(examples)), ".RE", ".fi"]
    r += [".SH SEE ALSO", ", ".join(f"\\fB{t}\\fR(1)" for t in TOOLS if t != tool) + ".",
          ".PP", "The file formats: docs/FORMATS.md in the source tree."]
    return "\n".join(r) + "\n"


# -------------------------------------------------------------------------------- completions

def first_sentence(s):
    s = (s or "").strip().replace("\n", " ")
    m = re.match(r"(.+?)\.(\s|$)", s)
    s = m.group(1) if m else s
    return s if len(s) <= 80 else s[:77] + "..."


def bash(tool, cmd):
    fn = "_" + re.sub(r"\W", "_", tool)
    args = arguments(cmd)
    opts = [a for a in args if a["kind"] != "positional"]
    has_pos = any(a["kind"] == "positional" for a in args)
    all_names = " ".join(n for a in opts for n in names(a)) + " -h --help --version"
    cases = []
    for a in opts:
        if a["kind"] != "option":
            continue
        pat = "|".join(names(a))
        vs = values(a)
        if vs:
            cases.append(f"        {pat}) COMPREPLY=($(compgen -W '{' '.join(vs)}' -- \"$cur\")); return ;;")
        elif is_path(a):
            cases.append(f"        {pat}) compopt -o filenames; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;")
        else:
            cases.append(f"        {pat}) COMPREPLY=(); return ;;")
    pos = ('    compopt -o filenames\n    COMPREPLY=($(compgen -f -- "$cur"))' if has_pos else "    COMPREPLY=()")
    return f"""# bash completion for {tool} (generated by scripts/gen-docs.py from its option definitions)
{fn}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    case "$prev" in
{chr(10).join(cases)}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W '{all_names}' -- "$cur"))
        return
    fi
{pos}
}}
complete -F {fn} {tool}
"""


def zsh_escape(s):
    return s.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def zsh(tool, cmd):
    specs = []
    for a in arguments(cmd):
        desc = zsh_escape(first_sentence(a.get("abstract")))
        vs = values(a)
        action = f"({' '.join(vs)})" if vs else ("_files" if is_path(a) else " ")
        if a["kind"] == "positional":
            specs.append(f"'{'*' if a.get('isRepeating') else ''}:{a['valueName']}:{action}'")
            continue
        ns = names(a)
        excl = "" if a.get("isRepeating") else f"({' '.join(ns)})"
        rep = "*" if a.get("isRepeating") else ""
        spec_names = ns[0] if len(ns) == 1 else "{" + ",".join(ns) + "}"
        value = f":{zsh_escape(a.get('valueName', 'value'))}:{action}" if a["kind"] == "option" else ""
        if len(ns) == 1:
            specs.append(f"'{excl}{rep}{ns[0]}[{desc}]{value}'")
        else:
            specs.append(f"'{excl}'{rep}{spec_names}'[{desc}]{value}'")
    specs += ["'(- *)'{-h,--help}'[Show the help]'", "'(- *)--version[Print the version]'"]
    body = " \\\n        ".join(specs)
    fn = "_" + tool
    return f"""#compdef {tool}
# zsh completion for {tool} (generated by scripts/gen-docs.py from its option definitions)
{fn}() {{
    _arguments -s -S \\
        {body}
}}
if [ "$funcstack[1]" = "{fn}" ]; then
    {fn} "$@"
else
    compdef {fn} {tool}
fi
"""


def fish_escape(s):
    return s.replace("\\", "\\\\").replace("'", "\\'")


def fish(tool, cmd):
    args = arguments(cmd)
    has_pos = any(a["kind"] == "positional" for a in args)
    lines = [f"# fish completion for {tool} (generated by scripts/gen-docs.py from its option definitions)",
             f"complete -c {tool} -e"]
    lines.append(f"complete -c {tool} -F" if has_pos else f"complete -c {tool} -f")
    for a in args:
        if a["kind"] == "positional":
            continue
        parts = [f"complete -c {tool}"]
        for n in names(a):
            parts.append(f"-s {n[1:]}" if not n.startswith("--") else f"-l {n[2:]}")
        if a["kind"] == "option":
            vs = values(a)
            if vs:
                parts.append(f"-x -a '{fish_escape(' '.join(vs))}'")
            elif is_path(a):
                parts.append("-r -F")
            else:
                parts.append("-x")
        parts.append(f"-d '{fish_escape(first_sentence(a.get('abstract')))}'")
        lines.append(" ".join(parts))
    lines += [f"complete -c {tool} -s h -l help -d 'Show the help'", f"complete -c {tool} -l version -d 'Print the version'"]
    return "\n".join(lines) + "\n"


def main():
    bin_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "man"), exist_ok=True)
    os.makedirs(os.path.join(out, "completions"), exist_ok=True)
    for tool in TOOLS:
        cmd = dump(bin_dir, tool)
        version = subprocess.run([os.path.join(bin_dir, tool), "--version"], capture_output=True, text=True).stdout.strip() or "dev"
        files = {f"man/{tool}.1": man_page(tool, cmd, version), f"completions/{tool}.bash": bash(tool, cmd),
                 f"completions/_{tool}": zsh(tool, cmd), f"completions/{tool}.fish": fish(tool, cmd)}
        for path, text in files.items():
            with open(os.path.join(out, path), "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
