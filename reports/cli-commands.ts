import type { Command } from 'commander';
// Placeholder until the report renderer lands: `report` registers here.
export function registerReportCommands(_program: Command): void {}
