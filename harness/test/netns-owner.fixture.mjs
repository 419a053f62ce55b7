// Fixture for netns.test.ts: owns a lab with a process in one namespace, then waits to be
// interrupted (SIGINT) or killed (SIGKILL). Runs from dist/ (the test builds nothing: `make test` does).
import { NetnsLab } from '../../dist/harness/testbed/hosts/netns.js';

const lab = await NetnsLab.create([
  { name: 'p', kind: 'netns', address: '198.18.204.2', roles: [] },
  { name: 'q', kind: 'netns', address: '198.18.204.3', roles: [] },
]);
const sleeper = lab.host('q').spawn('sleep', ['300'], { name: 'sleeper' });
console.log(`sleeper ${await sleeper.pid}`);
console.log(`lab ${lab.id} running`);
setTimeout(() => process.exit(9), 60_000);
