// Loaded with `node --import` by `npm run mutate` (NODE_OPTIONS, so Stryker's own process and its test-runner
// workers both have it). @stryker-mutator/mocha-runner 10 requires Mocha's cli internals without an extension
// (`mocha/lib/cli/run-helpers`, `.../options`, `.../collect-files`), and Mocha 12 ships them as `.cjs` files, so the
// runner fails to load. This resolve hook retries exactly those requests with `.cjs`; every other module resolves as
// usual. It can go once the runner probes the `.cjs` names itself.
import { registerHooks } from "node:module";

const MOCHA_CLI = /[\\/]mocha[\\/]lib[\\/]cli[\\/][a-z-]+$/;

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (MOCHA_CLI.test(specifier)) return nextResolve(`${specifier}.cjs`, context);
      throw err;
    }
  },
});
