// How a forkbench command ends on bad input: one line naming the problem and the fix, exit code 2.
// Commands throw (fail(), ConfigError, PreflightError, TopologyError, ExternalTargetError, commander's own parse errors); the CLI entry
// point maps every one of them here, so there is a single error path.
import { CommanderError } from 'commander';
import { ConfigError } from '../plan/bench-config.js';
import { PreflightError } from '../testbed/preflight.js';
import { TopologyError } from '../testbed/hosts/topology.js';
import { ExternalTargetError } from '../testbed/targets/external-target.js';

/** Bad input found by a command (a flag value, a missing folder): exit 2 with this message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function fail(message: string): never {
  throw new UsageError(message);
}

/** The exit code and the one line to print for an error out of the command line; undefined: not a usage error (a bug, shown with its stack). */
export function usageExit(e: unknown, command = 'forkbench'): { code: number; line?: string } | undefined {
  if (e instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0 and their text already printed.
    if (e.exitCode === 0) return { code: 0 };
    if (e.code === 'commander.help' || e.code === 'commander.helpDisplayed') return { code: 2 }; // help shown for a missing command
    const message = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    return { code: 2, line: `forkbench: ${message}; run ${command} --help for the flags` };
  }
  if (e instanceof UsageError || e instanceof ConfigError || e instanceof PreflightError || e instanceof TopologyError || e instanceof ExternalTargetError) return { code: 2, line: `forkbench: ${e.message.replace(/\s*\n\s*/g, ' ')}` };
  return undefined;
}
