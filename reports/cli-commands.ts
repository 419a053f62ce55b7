// `forkbench report <runDirs...>`: thin CLI over writeReport; input errors print one line and exit 2.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { writeReport } from './write-report.js';
import { ReportError } from './report-error.js';

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of calls/s');
  return n;
}

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description('Render the paper figures and a self-contained report.html from one or more results/<run> folders')
    .argument('<runDirs...>', 'results folders (points.csv, optional capacity.csv and meta.json); several = comparison')
    .option('--out <dir>', 'report folder (default: <runDir>/report; required with several runs)')
    .option('--rate <cps>', 'offered rate for the fixed-rate figures (default: the rate with the most points)', parseRate)
    .action(async (runDirs: string[], opts: { out?: string; rate?: number }) => {
      try {
        const result = await writeReport(runDirs, { out: opts.out, rate: opts.rate });
        for (const file of result.files) process.stdout.write(`${file}\n`);
      } catch (err) {
        if (!(err instanceof ReportError)) throw err;
        process.stderr.write(`forkbench report: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
        process.exitCode = 2;
      }
    });
}
