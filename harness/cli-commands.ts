import type { Command } from 'commander';
// Placeholder until the harness lands: bench, compare and capacity register here.
export function registerHarnessCommands(_program: Command): void {}
