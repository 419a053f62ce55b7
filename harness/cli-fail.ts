// The harness commands' way out on bad input: one line naming the problem and the fix, exit code 2.
export function fail(message: string): never {
  console.error(`forkbench: ${message}`);
  process.exit(2);
}
