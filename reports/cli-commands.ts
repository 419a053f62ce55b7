// `forkbench report <runDirs...>`: thin CLI over writeReport; input errors print one line and exit 2.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { writeReport } from './write-report.js';
import { ReportError } from './report-error.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCapacity } from './load-run.js';
import { capacityAgreement, formatAgreement } from './capacity-agreement.js';

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of calls/s');
  return n;
}

/** Runs a command's body; a ReportError (bad input) prints one line on stderr and sets exit code 2. */
async function reportingErrors(command: string, body: () => void | Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!(err instanceof ReportError)) throw err;
    process.stderr.write(`forkbench ${command}: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
    process.exitCode = 2;
  }
}

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('Render the paper figures and a self-contained report.html from one or more results/<run> folders')
    .argument('<runDirs...>', 'results folders (points.csv, optional capacity.csv and meta.json); several = comparison')
    .option('--out <dir>', 'report folder (default: <runDir>/report; required with several runs)')
    .option('--rate <cps>', 'offered rate for the fixed-rate figures (default: the rate with the most points)', parseRate)
    .action((runDirs: string[], opts: { out?: string; rate?: number }) =>
      reportingErrors('report', async () => {
        const result = await writeReport(runDirs, { out: opts.out, rate: opts.rate });
        for (const file of result.files) process.stdout.write(`${file}\n`);
      }),
    );

  program
    .command('capacity-compare')
    .description('two capacity runs side by side: B/A per search, measured and on the reference core, and how many agree within 10 %')
    .argument('<runA>', 'results folder with capacity.csv')
    .argument('<runB>', 'second results folder with capacity.csv')
    .action((a: string, b: string) =>
      reportingErrors('capacity-compare', () => {
        const load = (dir: string) => {
          const file = join(dir, 'capacity.csv');
          if (!existsSync(file)) throw new ReportError(`${file} does not exist: run forkbench capacity-sweep --out ${dir} (make capacity) first`, file);
          return loadCapacity(file);
        };
        process.stdout.write(`${a} (A) vs ${b} (B)\n\n${formatAgreement(capacityAgreement(load(a), load(b)))}\n`);
      }),
    );
}
