import { defineConfig } from 'vitest/config';

// `make microbench` only: the proxy's parse/forward microbenchmarks, one file at a time.
export default defineConfig({
  test: {
    include: [],
    benchmark: { include: ['proxy/bench/**/*.bench.ts'] },
    pool: 'forks',
    maxWorkers: 1,
  },
});
