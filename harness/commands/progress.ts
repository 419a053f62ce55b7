// What a sweep prints: a live bar on a terminal (cli-progress), one plain line per finished point
// otherwise, or JSON lines with --json. Data comes in as SweepEvents; nothing here measures.
import cliProgress from 'cli-progress';
import type { SweepEvent } from '../engine/sweep.js';

function describe(p: { target: string; mode: string; parse: string; groupSize: number; rate: number; trial: number }): string {
  return `${p.target === 'kamailio' ? 'kamailio' : p.mode}/${p.parse} N=${p.groupSize} ${p.rate} cps #${p.trial}`;
}

export function formatPointLine(e: Extract<SweepEvent, { kind: 'point-done' }>): string {
  const r = e.row;
  const setup = typeof r.setup_p95_us === 'number' ? `p95 setup ${(r.setup_p95_us / 1000).toFixed(2)} ms` : 'no delay';
  const cpu = r.head_cpu_pct !== undefined && r.head_cpu_pct !== '' ? `head CPU ${r.head_cpu_pct}%` : '';
  const status = r.status === 'ok' ? `SER ${r.ser}` : `FAILED: ${r.error}`;
  return `[${e.index}/${e.total}] ${describe(e.point)}: ${status}, ${setup}, ${cpu}, ${r.cpu_us_per_call ?? ''} us/call`;
}

/** What to print when a sweep was interrupted: what was kept, and the exact command that goes on. */
export function interruptLines(e: Extract<SweepEvent, { kind: 'done' }>): string[] {
  return [
    `interrupted: kept ${e.completed} points finished in this run (${e.failed} failed); ${e.pointsInFile} of ${e.total} points are in ${e.out}/points.csv; the interrupted point was discarded`,
    `resume with: ${e.resumeCommand}`,
  ];
}

/** `log` gets the progress (stdout); `warn` (stderr) the interruption notice when stdout carries --json rows. */
export function makeReporter(opts: { json: boolean; tty: boolean; log: (s: string) => void; warn?: (s: string) => void }): (e: SweepEvent) => void {
  let bar: cliProgress.SingleBar | undefined;
  return (e) => {
    if (opts.json) {
      if (e.kind === 'point-done') opts.log(JSON.stringify(e.row));
      if (e.kind === 'done' && e.interrupted) for (const l of interruptLines(e)) (opts.warn ?? opts.log)(l);
      return;
    }
    switch (e.kind) {
      case 'start':
        if (e.captureNote) opts.log(`note: ${e.captureNote}`);
        opts.log(`forkbench bench: ${e.todo} points to run${e.skipped ? ` (${e.skipped} already done, resumed)` : ''}, about ${Math.ceil(e.etaS / 60)} min`);
        if (opts.tty && e.todo > 0) {
          bar = new cliProgress.SingleBar(
            { format: 'point {value}/{total} {bar} {percentage}% | {point} | failed points {failed} | ETA {eta_formatted}', etaBuffer: 4, hideCursor: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(e.todo, 0, { point: '', failed: 0 });
        }
        return;
      case 'point-start':
        bar?.update(e.index - 1, { point: describe(e.point) });
        return;
      case 'point-done':
        if (bar) bar.update(e.index, { failed: e.failuresSoFar });
        else opts.log(formatPointLine(e));
        return;
      case 'done':
        bar?.stop();
        if (e.interrupted) for (const l of interruptLines(e)) opts.log(l);
        else opts.log(`done: ${e.completed} points written to ${e.out}/points.csv (${e.failed} failed), meta in ${e.out}/meta.json`);
    }
  };
}
