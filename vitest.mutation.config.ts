// The unit tests Stryker runs against each mutant of the proxy's modules (make mutation): the
// parser, URI, proxy-core, RFC 3261, Route-token, timer-wheel, transaction, writer, fork,
// received/rport and router unit tests. The fuzz test is left out (it checks only that nothing throws,
// and its 120,000 datagrams per run would multiply the mutation run's time); integration tests
// start processes and are not run per mutant.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'proxy/test/sip-parser.test.ts',
      'proxy/test/sip-uri.test.ts',
      'proxy/test/proxy-core.test.ts',
      'proxy/test/rfc3261-gaps.test.ts',
      'proxy/test/route-token.test.ts',
      'proxy/test/parse-errors.test.ts',
      'proxy/test/timer-wheel.test.ts',
      'proxy/test/transactions.test.ts',
      'proxy/test/sip-writer.test.ts',
      'proxy/test/fork.test.ts',
      'proxy/test/via-received.test.ts',
      'proxy/test/router.test.ts',
      'proxy/test/route-token-verify.test.ts',
      'proxy/test/sip-uri-grammar.test.ts',
      'proxy/test/sip-parser-errors.test.ts',
      'proxy/test/sip-parser-values.test.ts',
    ],
    pool: 'forks',
  },
});
