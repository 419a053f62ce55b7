# Breaks one behaviour at a time (sabotage_cases.py), runs the test that promises it, restores the
# file with git checkout, and says whether the test caught it. Run from a clean tree, under the
# integration lock: flock /tmp/forkbench-it.lock python3 scripts/sabotage.py [case ids]
import subprocess, sys, importlib.util, re
import os
spec = importlib.util.spec_from_file_location('c', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sabotage_cases.py')); c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c)
ids = sys.argv[1:]
R = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for (cid, f, old, new, test, filt, build) in c.CASES:
    if ids and cid not in ids: continue
    p = f'{R}/{f}'; s = open(p).read()
    if s.count(old) != 1:
        print(f'{cid}: PATTERN NOT FOUND ({s.count(old)})', flush=True); continue
    open(p, 'w').write(s.replace(old, new))
    try:
        if build: subprocess.run('npm run -s build', shell=True, cwd=R, capture_output=True)
        cmd = ['npx', 'vitest', 'run', test] + (['-t', filt] if filt else [])
        r = subprocess.run(cmd, cwd=R, capture_output=True, text=True)
        out = r.stdout + r.stderr
        m = re.search(r'Tests\s+.*', re.sub(r'\x1b\[[0-9;]*m', '', out))
        verdict = 'FAILED (good: the test caught it)' if r.returncode != 0 else 'PASSED (bad: not caught)'
        print(f'{cid}: {verdict} :: {m.group(0) if m else "?"}', flush=True)
    finally:
        subprocess.run(['git', 'checkout', '--', f], cwd=R)
subprocess.run('npm run -s build', shell=True, cwd=R)
