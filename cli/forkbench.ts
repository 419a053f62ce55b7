// forkbench's command line: parses nothing itself, each part registers its own subcommands.
import { Command } from 'commander';
import { registerProxyCommands } from '../proxy/cli-commands.js';
import { registerHarnessCommands } from '../harness/cli-commands.js';
import { registerReportCommands } from '../reports/cli-commands.js';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('forkbench')
  .description('Load-testing and performance evaluation of SIP proxies that fork group calls')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)');

registerProxyCommands(program);
registerHarnessCommands(program);
registerReportCommands(program);

await program.parseAsync(process.argv);
