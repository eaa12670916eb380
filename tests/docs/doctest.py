#!/usr/bin/python3
"""doctest.py — runs the examples of nnc's docs and compares their output.

    tests/docs/doctest.py FILE.md...      from the repository root

A Markdown file's fenced blocks are examples when their info string says so
(docs/internals.md, "Docs that are tested", is the manual):

  ```console       commands and what they print.  A line starting with "$ " is
                   a command (a line ending in "\\" continues it); the lines up
                   to the next command are its expected output, standard
                   output and error together, as a terminal shows them.  In
                   the expected output "..." stands for any text within a
                   line, and a line that is only "..." for any number of lines
                   (none included): speeds, times, paths that vary.
  ```sh slow       commands too long for the tests (make fuzz, make bench):
                   each `make` line is dry-run (make -n) and each `sh SCRIPT`
                   line's script must exist.
  ```sh            a script that must succeed (run with set -e); its output is
                   not compared.  `nnc train` in them runs on the first 256
                   samples for one epoch (--limit 256 --epochs 1), so that
                   long trainings can be shown and still be checked.
  ```LANG file=F   the block's text is written to the file F before the
                   commands that follow it run (a .nn file, a C program, a
                   Python script); LANG is for the reader.
  ```errors        error messages, one a line, each of which nnc prints for
                   some file of tests/errors/ (as its NAME.err shows, which
                   the error tests compare with what nnc prints).

Other blocks are shown, not run; but a block that holds a command (a line
starting "$ " or "./nnc ") must be console or sh.  The blocks of one file run in
order, in one scratch folder (build/test/docs/FILE/) that sees the
repository's files through links, so commands run as from the repository's
root and what they write stays in the scratch folder.  Commands run in a
pseudo-terminal (what isatty sees is what a reader's terminal would be),
with NO_COLOR set; a progress line redrawn with carriage returns counts as
what stays on the screen.

Prints "ok doc FILE:LINE ..." or "FAIL doc FILE:LINE ..." (with a diff) for
each example block, as tests/run.sh counts them.
"""
import difflib
import glob
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.getcwd()
SCRATCH = os.path.join(ROOT, os.environ.get("NNC_TEST_DIR") or os.path.join("build", "test"), "docs")
TIMEOUT = 300          # seconds a command may take
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
COMMANDISH = re.compile(r"^\s*(\$ |\./nnc )")


def blocks(path):
    """(line, info, text lines) of every fenced block."""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3).strip()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence) and lines[i].strip().strip(fence[0]) == ""):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        out.append((start, info, body))
        i += 1
    return out


def screen(raw):
    """What a terminal shows of `raw`: CRLF as newlines, a carriage return
    starting the line again, escape sequences (clear line) dropped."""
    text = raw.replace("\r\n", "\n")
    shown = []
    for line in text.split("\n"):
        line = line.split("\r")[-1]
        shown.append(ANSI.sub("", line).rstrip())
    while shown and shown[-1] == "":
        shown.pop()
    return shown


def run(cmd, cwd, env):
    """Runs `cmd` with sh in a pseudo-terminal; (exit status, screen lines)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(["sh", "-c", cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.time() + TIMEOUT
    while True:
        left = deadline - time.time()
        if left <= 0:
            os.killpg(p.pid, signal.SIGKILL)
            chunks.append(b"\n[doctest: killed after %d s]\n" % TIMEOUT)
            break
        r, _, _ = select.select([master], [], [], min(left, 1.0))
        if not r:
            if p.poll() is not None:
                # the command is done; whatever it left is read below
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                chunks.append(data)
            continue
        try:
            data = os.read(master, 65536)
        except OSError:   # EIO: every writer has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    status = p.wait()
    return status, screen(b"".join(chunks).decode("utf-8", "replace"))


def pattern(expected):
    """A regex for the expected lines, with the "..." wildcards."""
    parts = []
    for line in expected:
        line = line.rstrip()
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(p) for p in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def scratch_for(doc):
    d = os.path.join(SCRATCH, os.path.relpath(doc, ROOT).replace("/", "_"))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name in os.listdir(ROOT):
        if name in (".git",):
            continue
        os.symlink(os.path.join(ROOT, name), os.path.join(d, name))
    return d


HEREDOC = re.compile(r"<<-?\s*'?\"?([A-Za-z_]+)'?\"?")


def commands(body):
    """(command, expected lines) of a console block.  A command goes on
    over lines ending in a backslash, and over a here-document's lines up
    to its end word."""
    out = []
    cur = None
    i = 0
    while i < len(body):
        line = body[i]
        if line.startswith("$ "):
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(body):
                i += 1
                cmd += "\n" + body[i]   # the backslash stays: sh joins the lines
            m = HEREDOC.search(cmd)
            if m:
                while i + 1 < len(body):
                    i += 1
                    cmd += "\n" + body[i]
                    if body[i].strip() == m.group(1):
                        break
            cur = [cmd, []]
            out.append(cur)
        elif cur is not None:
            cur[1].append(line)
        i += 1
    return out


def shorten(cmd):
    """sh blocks: nnc train on a slice, for one epoch."""
    return re.sub(r"(\./nnc train [^\n|;&]*)", r"\1 --limit 256 --epochs 1", cmd)


def error_corpus():
    msgs = set()
    for f in glob.glob(os.path.join(ROOT, "tests", "errors", "*.err")):
        for line in open(f, encoding="utf-8", errors="replace"):
            m = re.search(r"(?:error|warning|note): (.*)$", line.rstrip("\n")) or re.match(r"nnc: (.*)$", line)
            if m:
                msgs.add(m.group(1))
    return msgs


def report(ok, what, detail=()):
    print(("ok " if ok else "FAIL ") + what)
    if not ok:
        for d in detail:
            for line in str(d).split("\n"):
                print("    " + line)
    return ok


def doc_env():
    """The environment of the docs' commands: a reader's.  Debian's tools
    first (python3 with torch is Debian's, as README says); the JIT's
    default backend (auto: NNC_JIT, which the other suites set to tcc, is
    taken out), its cc builds cached in the scratch folder, not ~/.cache."""
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C.UTF-8", COLUMNS="80",
               PATH="/usr/local/bin:/usr/bin:/bin:" + os.environ.get("PATH", ""),
               XDG_CACHE_HOME=os.path.join(SCRATCH, "cache"))
    env.pop("NNC_JIT", None)
    return env


def check_doc(doc, corpus):
    rel = os.path.relpath(doc, ROOT)
    cwd = None
    # Debian's own tools first (python3 with torch is Debian's, as README says)
    env = doc_env()
    shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)   # each doc read as by a new user
    blocks_of_doc = blocks(doc)
    own = set()
    for start, info, body in blocks_of_doc:
        words = info.split()
        lang = words[0] if words else ""
        attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        where = "doc %s:%d" % (rel, start)
        if cwd is None and (lang in ("console", "sh") or "file" in attrs):
            cwd = scratch_for(doc)
        if "file" in attrs:
            own.add(attrs["file"])
            with open(os.path.join(cwd, attrs["file"]), "w", encoding="utf-8") as f:
                f.write("\n".join(body) + "\n")
            continue
        if lang == "console":
            for cmd, expected in commands(body):
                status, got = run(cmd, cwd, env)
                text = "\n".join(got) + "\n" if got else ""
                first = cmd.split("\n")[0]
                if pattern(expected).fullmatch(text):
                    report(True, "%s $ %s" % (where, first[:70]))
                else:
                    diff = difflib.unified_diff(expected, got, "the doc", "nnc printed", lineterm="")
                    report(False, "%s $ %s" % (where, first[:70]), ["(exit status %d)" % status] + list(diff))
        elif lang == "sh" and "slow" in words[1:]:
            for line in [l for l in body if l.strip() and not l.lstrip().startswith("#")]:
                cmd = line.split("#")[0].strip()
                argv = [w for w in cmd.split() if not re.match(r"^[A-Z_]+=", w)]
                if argv and argv[0] == "make":
                    status, got = run("make -n " + " ".join(argv[1:]) + " >/dev/null", cwd, env)
                    report(status == 0, "%s (slow, dry run): %s" % (where, cmd[:60]), got[-10:])
                elif argv and argv[0] == "sh" and len(argv) > 1:
                    report(os.path.exists(os.path.join(ROOT, argv[1])), "%s (slow): %s exists" % (where, argv[1]))
                else:
                    report(False, "%s (slow): %s" % (where, cmd[:60]),
                           ["a slow block holds make targets and `sh SCRIPT` lines only"])
        elif lang == "sh":
            script = "set -e\n" + shorten("\n".join(body).replace("\\\n", " "))
            status, got = run(script, cwd, env)
            first = next((l for l in body if l.strip() and not l.startswith("#")), "")
            report(status == 0, "%s runs (sh): %s" % (where, first[:60]), ["exit status %d, output:" % status] + got[-15:])
        elif lang == "errors":
            missing = [m for m in body if m.strip() and m.strip() not in corpus]
            report(not missing, "%s: %d error messages are nnc's (tests/errors)" % (where, len(body)),
                   ["not printed for any tests/errors/*.nn:"] + missing)
        elif any(COMMANDISH.match(l) for l in body):
            report(False, "%s: a command in a '%s' block" % (where, lang or "plain"),
                   ["commands go in ```console (output compared) or ```sh (must succeed) blocks"])
    if cwd is not None:
        check_ignored(doc, cwd, own)


def unroff(text):
    """The man page's text as it reads: escapes undone, requests dropped."""
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\(mu", "*")
    text = re.sub(r"\\f[BIRP]", "", text)
    return text


def check_man(page, env):
    """A man page against the program: every option of the commands' --help
    and every REPL command is described, the cc backend's flags are the
    program's, and the examples (the .nf blocks with "$ " commands) print
    what they show, run with ./nnc for nnc."""
    rel = os.path.relpath(page, ROOT)
    raw = open(page, encoding="utf-8").read()
    text = unroff(raw)
    words = re.sub(r"\s+", " ", re.sub(r"^\.[A-Z]+ ?", "", text, flags=re.M).replace('"', ""))
    cwd = scratch_for(page)
    helps = {}
    for cmd in ("./nnc --help", "./nnc train --help", "./nnc repl --help"):
        helps[cmd] = "\n".join(run(cmd, cwd, env)[1])
    missing = []
    for cmd, h in helps.items():
        for opt in sorted(set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", h))):
            if opt not in words:
                missing.append("%s (%s)" % (opt, cmd))
    report(not missing, "doc %s: describes every option of nnc's --help texts" % rel, missing)
    repl_help = run("echo help | ./nnc repl", cwd, env)[1]
    cmds = [l.split()[0] for l in repl_help if l.startswith("  ") and l.split()]
    missing = [c for c in cmds if not re.search(r"^\.B[IR]? \"?%s\b" % re.escape(c), raw, flags=re.M)]
    report(bool(cmds) and not missing, "doc %s: describes every REPL command (%d)" % (rel, len(cmds)), missing)
    flags = re.search(r"The cc backend's flags: (.*)", helps["./nnc train --help"])
    report(bool(flags) and flags.group(1) in words, "doc %s: quotes the cc backend's flags" % rel,
           ["nnc train --help says: %s" % (flags.group(1) if flags else "(nothing)")])
    for block in re.findall(r"^\.nf\n(.*?)^\.fi$", raw, flags=re.M | re.S):
        body = unroff(block).split("\n")
        for cmd, expected in commands([l for l in body if l != ""] if False else body):
            run_cmd = re.sub(r"(^|\n|&& |\| )nnc ", r"\1./nnc ", cmd)
            status, got = run(run_cmd, cwd, env)
            text_got = "\n".join(got) + "\n" if got else ""
            exp = [l for l in expected if l != ""]
            ok = pattern(exp).fullmatch("\n".join(l for l in got if l != "") + ("\n" if got else ""))
            report(bool(ok), "doc %s example $ %s" % (rel, cmd.split("\n")[0][:60]),
                   ["(exit status %d)" % status] + list(difflib.unified_diff(exp, [l for l in got if l], "the page",
                                                                           "nnc printed", lineterm="")))
            del text_got


def check_ignored(doc, cwd, own):
    """What a doc's commands write, run from the repository's root, is
    ignored by git (so a reader who follows the doc leaves `git status`
    clean)."""
    rel = os.path.relpath(doc, ROOT)
    made = []
    for dirpath, dirnames, filenames in os.walk(cwd):
        for name in list(dirnames) + filenames:
            p = os.path.join(dirpath, name)
            if os.path.islink(p):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            if os.path.relpath(p, cwd) not in own:   # the reader's own files (file= blocks)
                made.append(os.path.relpath(p, cwd) + ("/" if os.path.isdir(p) else ""))
    if not made:
        return
    r = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=ROOT, input="\n".join(made) + "\n",
                       capture_output=True, text=True)
    ignored = set(r.stdout.split())
    loose = [m for m in made if m not in ignored and not any(m.startswith(i.rstrip("/") + "/") for i in ignored)]
    report(not loose, "doc %s: the %d files its commands write are in .gitignore" % (rel, len(made)),
           ["not ignored (add them to .gitignore):"] + loose)


def main():
    corpus = error_corpus()
    env = doc_env()
    for doc in sys.argv[1:]:
        if doc.endswith(".1"):
            check_man(os.path.abspath(doc), env)
        else:
            check_doc(os.path.abspath(doc), corpus)


if __name__ == "__main__":
    main()
