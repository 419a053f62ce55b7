// forkbench's command line: parses nothing itself, each part registers its own subcommands. Every
// command ends on bad input the same way (harness/commands/cli-fail.ts): one line, exit code 2.
import { Command } from 'commander';
import { registerProxyCommands } from '../proxy/cli-commands.js';
import { registerHarnessCommands } from '../harness/commands/cli-commands.js';
import { usageExit } from '../harness/commands/cli-fail.js';
import { registerReportCommands } from '../reports/cli-commands.js';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Set before the subcommands are registered: commander copies these settings into each of them.
const program = new Command('forkbench')
  .description('Load-testing and performance evaluation of SIP proxies that fork group calls')
  .version(pkg.version)
  .exitOverride()
  .configureOutput({ outputError: () => undefined }); // usageExit prints the one line instead

registerProxyCommands(program);
registerHarnessCommands(program);
registerReportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // The subcommand named on the command line, for the --help hint.
  const sub = program.commands.find((c) => process.argv.slice(2).includes(c.name()));
  const exit = usageExit(e, sub ? `forkbench ${sub.name()}` : 'forkbench');
  if (!exit) throw e;
  if (exit.line) console.error(exit.line);
  process.exit(exit.code);
}
